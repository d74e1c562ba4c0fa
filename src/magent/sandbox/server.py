"""Run an ASGI app (a simulator) with uvicorn: in a background thread for tests and the demo, or in the foreground."""

from __future__ import annotations

import threading
import time
from typing import Any


class ServerThread:
    """A uvicorn server on 127.0.0.1 in a daemon thread. `port=0` picks a free port; `.url` tells which."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        self._config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(self._config)
        self._thread = threading.Thread(target=self._server.run, name=f"uvicorn-{host}:{port}", daemon=True)
        self.host = host
        self.port = port

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on {self.host}:{self.port} did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ServedApp:
    """Lifecycle shared by the simulators: an ASGI app on 127.0.0.1 in a ServerThread, usable as a context
    manager. Subclasses set `_host`/`_port`, build the app in `_asgi()`, and may hook `_started()`/`_stopping()`."""

    _host: str = "127.0.0.1"
    _port: int = 0
    _server: ServerThread | None = None

    def _asgi(self) -> Any:
        raise NotImplementedError

    def _started(self) -> None:
        """Called once the server answers (e.g. to start background loops)."""

    def _stopping(self) -> None:
        """Called before the server stops (e.g. to stop loops and close streams)."""

    def start(self):
        if self._server is None:
            self._server = ServerThread(self._asgi(), host=self._host, port=self._port).start()
            self._started()
        return self

    def stop(self) -> None:
        self._stopping()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL (`http://127.0.0.1:PORT`)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running: call start() or use it as a context manager")
        return self._server.url
