"""Running ASGI apps (API, emulator) inside an asyncio program: `mentoring dev` and the tests."""

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp


class _QuietServer(uvicorn.Server):
    """Signals belong to the program that hosts several servers, not to each server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class BackgroundServer:
    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        # log_config=None: its lines go to the program's logging (mentoring/logs.py), not
        # to handlers of uvicorn's own.
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", log_config=None, lifespan="on"
        )
        self._server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None
        self.host = host

    @property
    def port(self) -> int:
        socket = self._server.servers[0].sockets[0]
        return int(socket.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self, timeout_s: float = 30.0) -> "BackgroundServer":
        self._task = asyncio.create_task(self._server.serve())
        async with asyncio.timeout(timeout_s):
            while not self._server.started:
                if self._task.done():
                    self._task.result()
                    raise RuntimeError("the server stopped while starting")
                await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
