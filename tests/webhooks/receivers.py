"""Real receivers on loopback for the transport tests: HTTP(S) servers in threads, a listener that never accepts."""

import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import trustme


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver listening on ``host``; ``respond(handler, request)`` writes each answer."""

    respond: Callable[[BaseHTTPRequestHandler, ReceivedRequest], None]
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port; a given one lets a test bring a receiver back up at the same address
    tls: ssl.SSLContext | None = None
    requests: list[ReceivedRequest] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)  # TLS SNI seen in each handshake
    released: threading.Event = field(default_factory=threading.Event)  # set at teardown: slow answers stop waiting

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                request = ReceivedRequest(
                    method="POST",
                    path=self.path,
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=self.rfile.read(length),
                )
                receiver.requests.append(request)
                receiver.respond(self, request)

            def log_message(self, *args):  # keep pytest's output clean
                pass

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        server_class = type("Server", (ThreadingHTTPServer,), {"address_family": family, "daemon_threads": True})
        self.server = server_class((self.host, self.port), Handler)
        if self.tls is not None:
            self.tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def url(self, path: str = "/hook", *, host: str | None = None) -> str:
        shown = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"{'https' if self.tls else 'http'}://{shown}:{self.port}{path}"

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def answer(handler: BaseHTTPRequestHandler, *, status: int, body: bytes = b"", headers: dict | None = None) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@dataclass
class SilentListener:
    """A socket that listens but never accepts: a finished TCP handshake shows up as a readable backlog."""

    sock: socket.socket
    port: int

    def was_connected_to(self) -> bool:
        # connect() returns only once the kernel has completed the handshake into this backlog, so by the time a
        # delivery returns, any connection it made is already visible here: no waiting needed.
        self.sock.setblocking(False)
        try:
            connection, _ = self.sock.accept()
        except BlockingIOError:
            return False
        connection.close()
        return True


def server_tls(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context
