"""The HTTP server the vendor sandboxes run on: werkzeug's threaded WSGI server with HTTP/1.1 keep-alive.

Why not werkzeug's own handler as it is: it ends every answer with `Connection: close`, so every call a client makes
opens a new TCP connection. Vendors keep connections open (HTTP/1.1 persistent connections, RFC 9112 section 9.3),
and the gateway's transport pools them (connectors/base/transport.py); against a server that closes each time its
reuse of a pooled connection, and what it does when the server closed one meanwhile, never ran in a test.

What keeps a connection usable for the next request: the request's body is read to its end (its Content-Length)
after the answer, whether or not the application read it; an answer without a length goes out chunked. A connection
is closed where HTTP says so: the client asked (`Connection: close`, or HTTP/1.0 without keep-alive), a chunked
request body (not read back to its end here), an answer that cannot be framed, an error after the answer started,
a connection the application dropped (a sandbox fault), or `IDLE_SECONDS` without a request.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from typing import Any

from werkzeug.exceptions import InternalServerError
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

logger = logging.getLogger(__name__)

# How long a kept-alive connection may wait for its next request. The gateway's pool drops an idle connection after
# 30 s (connectors/base/http.py, shared_http_client), so it never sends on one this server is closing.
IDLE_SECONDS = 120.0


class KeepAliveHandler(WSGIRequestHandler):
    """One connection's requests, one after the other, answered by the server's WSGI application."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # No access log on stderr (tests make thousands of calls).
        logger.debug("%s %s %s", self.command, self.path, code)

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        if not environ.get("wsgi.input_terminated"):
            # The body ends at its Content-Length: an application reading on never reads the next request.
            environ["wsgi.input"] = LimitedStream(self.rfile, _content_length(self.headers.get("Content-Length")))
        return environ

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            self.environ = environ = self.make_environ()
        except ValueError:  # a Content-Length that is not a length: the stream cannot be framed
            self.close_connection = True
            self.send_error(400, "Invalid Content-Length")
            return
        answer = _Answer(self)
        try:
            self._execute(environ, answer)
        except (ConnectionError, TimeoutError) as exc:
            self.close_connection = True
            self.connection_dropped(exc, environ)
        except Exception:
            logger.exception("sandbox application failed on %s %s", self.command, self.path)
            self.close_connection = True
            if answer.status_sent is None:
                with contextlib.suppress(Exception):
                    answer.reset()
                    self._execute(environ, answer, InternalServerError())
        if environ.get("wsgi.input_terminated"):
            self.close_connection = True  # a chunked body's rest is not read back here
        elif not self.close_connection:
            stream = environ["wsgi.input"]
            if isinstance(stream, LimitedStream):
                stream.exhaust()

    def _execute(self, environ: dict[str, Any], answer: _Answer, app: Any = None) -> None:
        iterable = (app or self.server.app)(environ, answer.start_response)
        try:
            for data in iterable:
                answer.write(data)
            if answer.status_sent is None:
                answer.write(b"")
            answer.finish()
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()


class _Answer:
    """One answer's status line, headers and body on a kept-alive connection."""

    def __init__(self, handler: KeepAliveHandler) -> None:
        self.handler = handler
        self.reset()

    def reset(self) -> None:
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.status_sent: str | None = None
        self.chunked = False

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info is not None:
            try:
                if self.status_sent is not None:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("Headers already set")
        self.status, self.headers = status, list(headers)
        return self.write

    def write(self, data: bytes) -> None:
        handler = self.handler
        if self.status_sent is None:
            self._send_head()
        if data:
            if self.chunked:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                handler.wfile.write(data)
        handler.wfile.flush()

    def finish(self) -> None:
        if self.chunked:
            self.handler.wfile.write(b"0\r\n\r\n")
            self.handler.wfile.flush()

    def _send_head(self) -> None:
        handler = self.handler
        assert self.status is not None, "write() before start_response"
        self.status_sent = self.status
        code_text, _, reason = self.status.partition(" ")
        code = int(code_text)
        handler.send_response(code, reason)
        names = set()
        for name, value in self.headers:
            names.add(name.lower())
            if name.lower() == "connection":
                continue  # the connection's fate is the server's, below
            handler.send_header(name, value)
        bodiless = handler.command == "HEAD" or 100 <= code < 200 or code in (204, 304)
        if not bodiless and "content-length" not in names:
            if handler.request_version == "HTTP/1.1":
                self.chunked = True
                handler.send_header("Transfer-Encoding", "chunked")
            else:
                handler.close_connection = True  # HTTP/1.0 has no chunks: the close ends the body
        if handler.close_connection:
            handler.send_header("Connection", "close")
        handler.end_headers()


def _content_length(value: str | None) -> int:
    if value is None or value.strip() == "":
        return 0
    length = int(value.strip())  # ValueError: not a length
    if length < 0:
        raise ValueError(value)
    return length


class SandboxHTTPServer(ThreadedWSGIServer):
    """werkzeug's threaded server, answering with `KeepAliveHandler`, whose `stop_serving` also ends the connections
    still open (a kept-alive connection's thread would otherwise wait up to IDLE_SECONDS for a next request)."""

    # server_close() must not wait for the threads of idle kept-alive connections; stop_serving ends them.
    block_on_close = False

    def __init__(self, host: str, port: int, app: Any, *, ssl_context: Any = None) -> None:
        super().__init__(host, port, app, handler=KeepAliveHandler, ssl_context=ssl_context)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        # No Nagle: an answer goes out as its head and then its body; on a kept-alive connection Nagle would hold
        # the body until the client's delayed ACK of the head (some 40 ms), a stall no vendor's server has.
        with contextlib.suppress(OSError):
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def stop_serving(self) -> None:
        """Stop accepting, close the listening socket, and end every connection still open."""
        self.shutdown()
        self.server_close()
        with self._open_lock:
            still_open, self._open = self._open, set()
        for connection in still_open:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
