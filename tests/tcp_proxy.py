"""A TCP forwarder on a loopback port that a test can cut and restore, as a network between
two hosts is cut: every live connection is closed and new ones are refused until restored.

A worker pointed at it (``worker --database-url``) loses its database while everything else
(the server, the other workers) keeps theirs.
"""

from __future__ import annotations

import socket
import struct
import threading
from types import TracebackType


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._cut = False
        self._stopped = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self._acceptor.start()

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            live, self._live = self._live, set()
        for sock in live:
            _close(sock)

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self._stopped.set()
        self._acceptor.join()
        self._listener.close()
        self.cut()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            client.settimeout(None)
            try:
                upstream = None if self._cut else socket.create_connection(self.target, timeout=5)
            except OSError:
                upstream = None
            with self._lock:
                if upstream is None or self._cut:
                    for sock in (client, upstream):
                        _close(sock, reset=True)
                    continue
                upstream.settimeout(None)
                self._live |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._live -= {source, sink}
        _close(source)
        _close(sink)


def _close(sock: socket.socket | None, reset: bool = False) -> None:
    """Shut down first: that wakes a thread blocked reading it, which closing alone does not.
    ``reset`` answers with a reset, as a port nobody listens on would."""
    if sock is None:
        return
    try:
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
