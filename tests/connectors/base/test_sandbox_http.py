"""connectors/base/sandbox_http.py: the sandboxes' HTTP/1.1 server keeps connections open between requests, frames
each request and answer so the next one starts where it should, and closes where HTTP says so."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from connectors.base.sandbox_http import SandboxHTTPServer


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Echoes the request; `/unread` answers without reading the body, `/unsized` without a Content-Length,
    `/drop` shuts the connection as a sandbox fault does, `/boom` fails before answering."""
    path = environ["PATH_INFO"]
    if path == "/nodelay":
        flag = environ["werkzeug.socket"].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        start_response("200 OK", [("Content-Length", "1")])
        return [b"1" if flag else b"0"]
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/drop":
        environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
        raise ConnectionAbortedError("dropped")
    body = b"" if path == "/unread" else environ["wsgi.input"].read()
    answer = f"{environ['REQUEST_METHOD']} {path} {body.decode()}".encode()
    if path == "/unsized":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([answer[:3], answer[3:]])
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(answer)))])
    return [answer]


@pytest.fixture
def server() -> Iterator[SandboxHTTPServer]:
    served = SandboxHTTPServer("127.0.0.1", 0, app)
    thread = threading.Thread(target=served.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield served
    served.stop_serving()
    thread.join(timeout=5)


def connect(server: SandboxHTTPServer) -> http.client.HTTPConnection:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
    connection.connect()
    return connection


def exchange(connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None) -> Any:
    connection.request(method, path, body=body)
    answer = connection.getresponse()
    return answer, answer.read()


def test_one_connection_serves_requests_one_after_another(server: SandboxHTTPServer) -> None:
    connection = connect(server)
    first_socket = connection.sock
    for number in range(3):
        answer, body = exchange(connection, "POST", "/echo", f"n={number}".encode())
        assert (answer.status, body) == (200, f"POST /echo n={number}".encode())
        assert answer.getheader("Connection") is None and not answer.will_close
    assert connection.sock is first_socket  # never reconnected


def test_a_body_the_application_did_not_read_is_skipped_not_read_as_the_next_request(
    server: SandboxHTTPServer,
) -> None:
    connection = connect(server)
    answer, body = exchange(connection, "POST", "/unread", b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (answer.status, body) == (200, b"POST /unread ")
    answer, body = exchange(connection, "GET", "/next")
    assert (answer.status, body) == (200, b"GET /next ")


def test_an_answer_without_a_length_is_chunked_and_the_connection_stays(server: SandboxHTTPServer) -> None:
    connection = connect(server)
    answer, body = exchange(connection, "GET", "/unsized")
    assert answer.getheader("Transfer-Encoding") == "chunked"
    assert body == b"GET /unsized "
    assert exchange(connection, "GET", "/after")[1] == b"GET /after "


def test_the_connection_closes_when_the_client_asks(server: SandboxHTTPServer) -> None:
    connection = connect(server)
    connection.request("GET", "/bye", headers={"Connection": "close"})
    answer = connection.getresponse()
    assert answer.getheader("Connection") == "close" and answer.read() == b"GET /bye "
    assert connection.sock is None or connection.sock.recv(1) == b""


def until_closed(server: SandboxHTTPServer, request: bytes) -> bytes:
    """Send raw bytes and read everything until the server closes the connection (a timeout if it does not)."""
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as raw:
        raw.sendall(request)
        received = b""
        while chunk := raw.recv(4096):
            received += chunk
    return received


def test_http_1_0_without_keep_alive_is_closed_after_its_answer(server: SandboxHTTPServer) -> None:
    received = until_closed(server, b"GET /old HTTP/1.0\r\n\r\n")
    assert received.startswith(b"HTTP/1.1 200") and received.endswith(b"GET /old ")
    assert b"Connection: close" in received


def test_a_dropped_connection_is_closed_and_a_failure_answers_500_then_closes(server: SandboxHTTPServer) -> None:
    connection = connect(server)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        exchange(connection, "GET", "/drop")
    connection = connect(server)
    answer, _ = exchange(connection, "GET", "/boom")
    assert answer.status == 500 and answer.will_close


def test_an_invalid_content_length_is_400_and_closes(server: SandboxHTTPServer) -> None:
    received = until_closed(server, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -3\r\n\r\nabc")
    assert received.startswith(b"HTTP/1.1 400")


def test_stopping_ends_idle_kept_alive_connections_at_once() -> None:
    served = SandboxHTTPServer("127.0.0.1", 0, app)
    thread = threading.Thread(target=served.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    idle = connect(served)
    exchange(idle, "GET", "/one")
    started = time.monotonic()
    served.stop_serving()
    thread.join(timeout=5)
    assert time.monotonic() - started < 2  # not the idle timeout
    assert idle.sock is not None and idle.sock.recv(1) == b""  # the server's end is closed


def test_answers_are_not_held_back_by_nagle(server: SandboxHTTPServer) -> None:
    """A head and a body written one after the other leave at once (TCP_NODELAY), not after a delayed ACK."""
    connection = connect(server)
    assert exchange(connection, "GET", "/nodelay")[1] == b"1"
