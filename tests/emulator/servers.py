"""Running ASGI apps on loopback in background threads, and a webhook receiver to run.

Threads, not the test's event loop: the real clients (xendit-python, googleapiclient) block.
"""

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp

START_BOUND_S = 15.0
POLL_S = 0.01


def wait_for(condition: Callable[[], bool], what: str, bound_s: float = START_BOUND_S) -> None:
    """Poll `condition` until it holds; fail after `bound_s` seconds."""
    deadline = time.monotonic() + bound_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {bound_s} s waiting for {what}")
        time.sleep(POLL_S)


class ThreadedServer:
    """uvicorn on a loopback socket bound before it starts (so the port is known and free)."""

    def __init__(self, app_for: Callable[[str], ASGIApp]) -> None:
        """`app_for(url)` makes the app, given the URL it will be served at."""
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app_for(self.url), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> "ThreadedServer":
        self._thread.start()
        wait_for(lambda: self._server.started or not self._thread.is_alive(), "uvicorn to start")
        if not self._server.started:
            raise RuntimeError("uvicorn stopped while starting")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=START_BOUND_S)
        self._socket.close()


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    payload: Any


@dataclass
class WebhookReceiver:
    """Stands in for the service's Xendit webhook: records each call, answers `answer_status`."""

    answer_status: int = 200
    _received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
        self.answer_status = 200

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/webhook")
        @app.post("/refund")
        async def webhook(request: Request) -> JSONResponse:
            received = Received(dict(request.headers), await request.json())
            with self._lock:
                self._received.append(received)
                count = len(self._received)
            return JSONResponse({"received": True, "count": count}, status_code=self.answer_status)

        return app
