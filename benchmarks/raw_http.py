"""A load generator that costs far less than the server it measures: HTTP/1.1 over kept-alive
asyncio connections, one request at a time on each.

httpx spends about 6 ms of CPU per request at 50 in flight (its connection pool), more than the
webhook it measures, on the same two cores: measured through it, the webhook's latency is mostly
the client's. This one writes the request's bytes and reads the status line, the headers and a
Content-Length body, which is all our servers answer with; nothing else of HTTP (no TLS, no
chunked answers: a server that answers so is refused with ValueError)."""

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawResponse:
    status: int
    body: bytes


class RawConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self._reader = reader
        self._writer = writer
        self._host = host

    @classmethod
    async def open(cls, base_url: str) -> "RawConnection":
        url = urlsplit(base_url)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def post_json(
        self, path: str, body: Any, headers: dict[str, str] | None = None
    ) -> RawResponse:
        content = json.dumps(body).encode()
        lines = [
            f"POST {path} HTTP/1.1",
            f"host: {self._host}",
            "content-type: application/json",
            f"content-length: {len(content)}",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + content)
        return await self._read_response()

    async def _read_response(self) -> RawResponse:
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
            elif name.strip().lower() == "transfer-encoding":
                raise ValueError("a chunked answer: raw_http reads Content-Length bodies only")
        body = await self._reader.readexactly(length) if length else b""
        return RawResponse(int(status_line.split(" ", 2)[1]), body)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()
