"""HEADER_READ_TIMEOUT for uvicorn: a connection must send a whole request head (the request
line and every header) within this time, or it is closed without an answer.

uvicorn bounds less on its own: with h11 it has no timer at all while a new connection sends its
first request, and its keep-alive timeout (`timeout_keep_alive`, 5 s) only closes a connection
that sends nothing after a response, so a client trickling one byte every few seconds (slowloris)
holds a connection for ever. This protocol starts a deadline whenever the connection waits for a
request head (when it opens, and when a response has been sent) and stops it once h11 has read a
whole head; bytes that arrive in between do not move it. h11 bounds the head's size (16 KiB,
uvicorn's `h11_max_incomplete_event_size`). Not bounded here: how slowly a body is sent (a route
reading it waits; MAX_REQUEST_BODY_BYTES bounds its size, api/limits.py) and how slowly the
client reads the answer.
"""

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from mentoring.settings import Settings


class HeaderReadTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request head; `header_read_timeout_s` is
    set by `with_header_read_timeout`."""

    header_read_timeout_s: float = 10.0
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow_head()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_deadline()
        super().connection_lost(exc)

    def _follow_head(self) -> None:
        """A deadline while a request head is awaited (h11: the client is IDLE), none after."""
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            if self._head_deadline is None:
                self._head_deadline = self.loop.call_later(
                    self.header_read_timeout_s, self._head_too_slow
                )
        else:
            self._stop_deadline()

    def _stop_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.info("closing a connection that sent no whole request head in time")
            self.transport.close()


def with_header_read_timeout(seconds: float) -> type[HeaderReadTimeoutProtocol]:
    """The protocol class to give uvicorn (`http=`), with this deadline."""
    if seconds <= 0:
        raise ValueError("the header read timeout must be positive")

    class Protocol(HeaderReadTimeoutProtocol):
        header_read_timeout_s = seconds

    return Protocol


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for a server of ours (`uvicorn.run(..., **server_options(settings))`)."""
    return {"http": with_header_read_timeout(settings.header_read_timeout.total_seconds())}
