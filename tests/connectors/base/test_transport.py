"""The vendor clients' transport (connectors/base/transport.py) against a real HTTP/1.1 server: connections kept
and dropped as the answers and the server say, bodies and headers as sent, and failures sorted by whether the
request can have left this machine."""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from connectors.base.transport import StdlibTransport

TIMEOUT = httpx.Timeout(2.0, connect=1.0)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: list[int] = []
    received: list[tuple[str, str, dict[str, str], bytes]] = []

    def setup(self) -> None:
        super().setup()
        Handler.connections.append(id(self))

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, body: bytes, *, headers: dict[str, str] | None = None, status: int = 200) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        Handler.received.append((self.command, self.path, dict(self.headers.items()), body))
        if self.path.startswith("/close"):
            self._answer(b"bye", headers={"Connection": "close"})
            self.close_connection = True
        elif self.path.startswith("/gzip"):
            self._answer(gzip.compress(b'{"d": "compressed"}'), headers={"Content-Encoding": "gzip"})
        elif self.path.startswith("/hangup"):
            self.close_connection = True  # the request was read; no answer comes
        elif self.path.startswith("/slow"):
            time.sleep(3)
            self._answer(b"late")
        else:
            self._answer(b"ok:" + body, headers={"X-Seen": self.path})


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the late answer to a client that timed out meets a closed socket: expected here


@pytest.fixture
def server() -> Iterator[str]:
    Handler.connections, Handler.received = [], []
    httpd = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(transport=StdlibTransport(timeout=TIMEOUT), timeout=TIMEOUT) as http:
        yield http


def test_a_kept_alive_connection_serves_the_next_request(server: str, client: httpx.Client) -> None:
    assert client.get(f"{server}/a").text == "ok:"
    assert client.get(f"{server}/b").headers["X-Seen"] == "/b"
    assert len(Handler.connections) == 1


def test_a_connection_the_answer_closes_is_not_used_again(server: str, client: httpx.Client) -> None:
    assert client.get(f"{server}/close").text == "bye"
    assert client.get(f"{server}/a").status_code == 200
    assert len(Handler.connections) == 2


def test_an_idle_connection_the_server_closed_is_replaced_before_sending(server: str) -> None:
    transport = StdlibTransport(timeout=TIMEOUT)
    with httpx.Client(transport=transport, timeout=TIMEOUT) as client:
        assert client.get(f"{server}/a").status_code == 200
        ((connection, _),) = next(iter(transport._idle.values()))
        assert connection.sock is not None
        connection.sock.shutdown(socket.SHUT_RD)  # as when the server's FIN arrives: readable, EOF
        # A POST must not go out on it (it could fail after leaving, "maybe applied"): a new connection takes it.
        assert client.post(f"{server}/b", content=b"x").text == "ok:x"
    assert len(Handler.connections) == 2


def test_an_idle_connection_past_its_expiry_is_replaced(server: str) -> None:
    with httpx.Client(transport=StdlibTransport(timeout=TIMEOUT, keepalive_expiry=0.0), timeout=TIMEOUT) as client:
        client.get(f"{server}/a")
        client.get(f"{server}/b")
    assert len(Handler.connections) == 2


def test_body_and_headers_arrive_as_sent_once_each(server: str, client: httpx.Client) -> None:
    response = client.post(f"{server}/contacts?x=1%202", content=b'{"Name":"M\xc3\xbcller"}', headers={"X-Key": "v"})
    assert response.content == b'ok:{"Name":"M\xc3\xbcller"}'
    ((method, path, headers, body),) = Handler.received
    assert (method, path, body) == ("POST", "/contacts?x=1%202", b'{"Name":"M\xc3\xbcller"}')
    assert headers["X-Key"] == "v" and headers["Content-Length"] == str(len(body))
    assert headers["Host"] == server.removeprefix("http://")


def test_a_compressed_answer_is_decoded_as_httpx_decodes_it(server: str, client: httpx.Client) -> None:
    assert client.get(f"{server}/gzip").json() == {"d": "compressed"}


def test_failing_to_connect_is_a_connect_error_nothing_sent(client: httpx.Client) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(httpx.ConnectError):
        client.post(f"http://127.0.0.1:{port}/contacts", content=b"{}")
    with pytest.raises(httpx.UnsupportedProtocol):
        client.get("ftp://127.0.0.1/contacts")


def test_no_answer_after_sending_is_a_protocol_error_and_a_slow_one_a_read_timeout(
    server: str, client: httpx.Client
) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(f"{server}/hangup", content=b"{}")
    with pytest.raises(httpx.ReadTimeout):
        client.post(f"{server}/slow", content=b"{}")
    # Neither is one of the errors that prove a request never left (connectors/base/http.py: NOT_SENT_ERRORS).
    from connectors.base.http import NOT_SENT_ERRORS

    assert not issubclass(httpx.RemoteProtocolError, NOT_SENT_ERRORS)
    assert not issubclass(httpx.ReadTimeout, NOT_SENT_ERRORS)


def test_https_is_verified_against_the_trusted_certificates(tmp_path: Path) -> None:
    from connectors.exact.sandbox.server import generate_self_signed_cert

    cert, key = generate_self_signed_cert(tmp_path)
    httpd = Server(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{httpd.server_address[1]}/a"
    try:
        trusting = StdlibTransport(timeout=TIMEOUT, ssl_context=ssl.create_default_context(cafile=str(cert)))
        with httpx.Client(transport=trusting, timeout=TIMEOUT) as client:
            assert client.get(url).text == "ok:"
        with (
            httpx.Client(transport=StdlibTransport(timeout=TIMEOUT), timeout=TIMEOUT) as client,
            pytest.raises(httpx.ConnectError),  # not trusted: refused before anything is sent
        ):
            client.get(url)
    finally:
        httpd.shutdown()
        httpd.server_close()
