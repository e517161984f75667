"""The vendor clients' httpx transport: HTTP/1.1 on the standard library's http.client, with keep-alive pooling.

Why: every vendor call runs on a web request's critical path. An httpx client with its default transport (httpcore
and h11, in pure Python) used about 0.96 ms of CPU per request on this machine, the same client with this transport
about 0.69 ms, and http.client alone 0.32 ms, over the same sockets (bench/README.md, round 6). httpx stays the API
every connector uses (requests, responses, errors, event hooks); only the exchange underneath changes.

What it keeps of httpx's transport:
- trust: TLS contexts from `httpx.create_ssl_context()` (certifi, or SSL_CERT_FILE / SSL_CERT_DIR);
- timeouts: the connect timeout for connecting, the read timeout for every later socket operation;
- pooling: idle connections per (scheme, host, port), at most `max_idle` each, dropped after `keepalive_expiry`
  seconds or when the server closed them (a socket readable while idle has an EOF or junk waiting), and never
  kept when the answer said `Connection: close`;
- bodies as sent on the wire: httpx decodes a compressed answer (Content-Encoding) as it does for its own
  transport, since the body is handed over as the raw stream;
- errors, by where they happen, which connectors/base/http.py relies on to tell a write that never left from one
  that may have been applied: failing to connect is ConnectError or ConnectTimeout (nothing sent); anything after
  the connection is up is a WriteError, ReadError, ReadTimeout or RemoteProtocolError (maybe applied).

What it leaves to httpx's own transport: proxies (`shared_http_client` uses httpx's transport when the environment
names a proxy) and HTTP/2 (not used: vendors answer HTTP/1.1).
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterator

import httpx

_DEFAULT_PORTS = {"http": 80, "https": 443}


class _RawStream(httpx.SyncByteStream):
    def __init__(self, body: bytes) -> None:
        self._body = body

    def __iter__(self) -> Iterator[bytes]:
        yield self._body


class StdlibTransport(httpx.BaseTransport):
    def __init__(
        self,
        *,
        timeout: httpx.Timeout,
        max_idle: int = 20,
        keepalive_expiry: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._connect_timeout = timeout.connect
        self._read_timeout = timeout.read
        self._max_idle = max_idle
        self._keepalive_expiry = keepalive_expiry
        self._ssl_context = ssl_context
        self._idle: dict[tuple[str, str, int], list[tuple[http.client.HTTPConnection, float]]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ the exchange

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{scheme}://'.", request=request)
        key = (scheme, url.host, url.port or _DEFAULT_PORTS[scheme])
        body = request.read()
        connection = self._idle_connection(key)
        if connection is None:
            connection = self._connect(key, request)
        try:
            connection.putrequest(
                request.method, url.raw_path.decode("ascii"), skip_host=True, skip_accept_encoding=True
            )
            for name, value in request.headers.raw:
                connection.putheader(name, value)
            try:
                connection.endheaders(body or None)
            except OSError as exc:
                raise (httpx.WriteTimeout if isinstance(exc, TimeoutError) else httpx.WriteError)(
                    str(exc) or exc.__class__.__name__, request=request
                ) from exc
            answer = connection.getresponse()
            content = answer.read()
        except httpx.TransportError:
            connection.close()
            raise
        except TimeoutError as exc:
            connection.close()
            raise httpx.ReadTimeout(str(exc) or "timed out", request=request) from exc
        except (http.client.HTTPException, ValueError) as exc:
            # RemoteDisconnected (closed before an answer), IncompleteRead, a malformed status line or header
            connection.close()
            raise httpx.RemoteProtocolError(str(exc) or exc.__class__.__name__, request=request) from exc
        except OSError as exc:
            connection.close()
            raise httpx.ReadError(str(exc) or exc.__class__.__name__, request=request) from exc
        if answer.will_close:
            connection.close()
        else:
            self._keep(key, connection)
        return httpx.Response(
            status_code=answer.status,
            headers=answer.getheaders(),
            stream=_RawStream(content),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (answer.reason or "").encode("latin-1")},
        )

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection, _ in connections:
                connection.close()

    # ------------------------------------------------------------------ connections

    def _connect(self, key: tuple[str, str, int], request: httpx.Request) -> http.client.HTTPConnection:
        scheme, host, port = key
        connection: http.client.HTTPConnection
        if scheme == "https":
            context = self._ssl_context or httpx.create_ssl_context()
            connection = http.client.HTTPSConnection(host, port, timeout=self._connect_timeout, context=context)
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self._connect_timeout)
        try:
            connection.connect()
        except TimeoutError as exc:
            connection.close()
            raise httpx.ConnectTimeout(str(exc) or "timed out", request=request) from exc
        except OSError as exc:  # refused, unreachable, name not resolved, TLS handshake refused
            connection.close()
            raise httpx.ConnectError(str(exc) or exc.__class__.__name__, request=request) from exc
        assert connection.sock is not None
        connection.sock.settimeout(self._read_timeout)
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _idle_connection(self, key: tuple[str, str, int]) -> http.client.HTTPConnection | None:
        now = time.monotonic()
        while True:
            with self._lock:
                connections = self._idle.get(key)
                if not connections:
                    return None
                connection, since = connections.pop()
            if now - since < self._keepalive_expiry and _still_open(connection):
                return connection
            connection.close()

    def _keep(self, key: tuple[str, str, int], connection: http.client.HTTPConnection) -> None:
        with self._lock:
            connections = self._idle.setdefault(key, [])
            if len(connections) < self._max_idle:
                connections.append((connection, time.monotonic()))
                return
        connection.close()


def _still_open(connection: http.client.HTTPConnection) -> bool:
    """An idle connection is usable while nothing is waiting on it: a readable socket holds an EOF (the server
    closed it) or bytes no request asked for."""
    sock = connection.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable
