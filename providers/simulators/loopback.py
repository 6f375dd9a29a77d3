"""The life cycle every loopback HTTP double shares: serve on 127.0.0.1 in a daemon thread.

Subclasses provide ``_handler_class()`` (a ``BaseHTTPRequestHandler`` that reaches back to
them) and get ``url``, ``start``, ``stop`` and use as a context manager. ``stopping`` is set
once ``stop`` begins, so a handler told to answer slowly can wait on it and end early.
"""

import socket
import threading
from http.server import ThreadingHTTPServer


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago: for a server that cannot report the
    port it bound, and for tests that need an address where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LoopbackServer:
    def __init__(self, port: int = 0):
        self.stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        # Handlers still sleeping in a "slow" fault must not keep the process alive.
        self._server.daemon_threads = True
        # A short poll lets stop() return at once rather than after the default half second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _handler_class(self):
        raise NotImplementedError

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
