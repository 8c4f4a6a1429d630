"""A TCP proxy that injects network faults between inboxbot and a real server (tests only).

    proxy = FaultProxy(dovecot.host, dovecot.port).start()
    ... point the client at proxy.port ...
    proxy.drop_on(b"UID FETCH")   # cut every connection when the client sends this
    proxy.hang()                  # stop forwarding both ways; new connections get no greeting
    proxy.resume()
    proxy.drop_all()              # reset every open connection now

Faults are decided on the client's bytes, so a test can cut a connection exactly while a given
command is in flight (the server never sees it), which no server restart can time.
"""

from __future__ import annotations

import select
import socket
import threading
import time


class FaultProxy:
    host = "127.0.0.1"

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server((self.host, 0))
        self.port = self._listener.getsockname()[1]
        self.accepted = 0  # connections the client opened (attempts, whatever became of them)
        self.dropped = 0
        self.client_bytes = bytearray()  # everything the client sent (tests count commands in it)
        self._lock = threading.Lock()
        self._hung = threading.Event()
        self._closing = threading.Event()
        self._drop_pattern: bytes | None = None
        self._pairs: list[tuple[socket.socket, socket.socket | None]] = []

    def start(self) -> FaultProxy:
        threading.Thread(target=self._accept_loop, daemon=True, name="faultproxy").start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self.drop_all()
        self._listener.close()

    # -- faults -------------------------------------------------------------------------------

    def drop_on(self, pattern: bytes | None) -> None:
        """Cut the connection (both sides) when the client's bytes contain `pattern`; once."""
        with self._lock:
            self._drop_pattern = pattern

    def hang(self) -> None:
        self._hung.set()

    def resume(self) -> None:
        self._hung.clear()

    def drop_all(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, []
            self.dropped += len(pairs)
        for client, server in pairs:
            _close(client, reset=True)
            if server is not None:
                _close(server)

    # -- plumbing -----------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        # While hung, a new connection is accepted (the kernel does that for a stopped server
        # too) and then left without a greeting.
        while self._hung.is_set() and not self._closing.is_set():
            time.sleep(0.05)
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _close(client, reset=True)  # the server is down: the client sees a reset
            return
        with self._lock:
            self._pairs.append((client, server))
        socks = [client, server]
        try:
            while not self._closing.is_set():
                readable, _, _ = select.select(socks, [], [], 0.05)
                if self._hung.is_set():
                    continue  # bytes stay in the kernel buffers: nothing comes through
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        with self._lock:
                            self.client_bytes += data[:4096]
                        if self._should_drop(data):
                            return
                    (server if sock is client else client).sendall(data)
        except (OSError, ValueError):  # ValueError: select() on a socket another thread closed (a cut)
            return
        finally:
            with self._lock:
                if (client, server) in self._pairs:
                    self._pairs.remove((client, server))
            _close(client, reset=True)
            _close(server)

    def _should_drop(self, data: bytes) -> bool:
        with self._lock:
            if self._drop_pattern is not None and self._drop_pattern in data:
                self._drop_pattern = None
                self.dropped += 1
                return True
        return False


def _close(sock: socket.socket, reset: bool = False) -> None:
    try:
        if reset:  # RST rather than FIN: what a crashed peer or a middlebox timeout looks like
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    except OSError:
        pass
