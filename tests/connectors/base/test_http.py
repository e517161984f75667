"""The shared vendor HTTP client over real HTTP (a tiny local vendor): typed transport errors, budget, call log."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from connectors.base.data import CallRecord
from connectors.base.errors import (
    VendorError,
    VendorRateLimited,
    VendorResponseLost,
    VendorUnavailable,
    VendorValidationError,
)
from connectors.base.http import (
    NOT_SENT_ERRORS,
    VendorHttpClient,
    budget_answers_later,
    never_raise,
    shared_http_client,
)
from connectors.base.ratelimit import (
    MINUTELY,
    BudgetPolicy,
    LocalBudgetStore,
    Observation,
    RedisBudgetStore,
    VendorRateLimiter,
)

RESET_MS = 4_102_444_800_000  # 2100-01-01: a window that does not end during the test


class TinyVendor(BaseHTTPRequestHandler):
    """/ok answers 200 with its budget headers, /drop hangs up without an answer, /slow answers after 1 s,
    /invalid answers 400 with an error document, /spent answers 200 saying the minute's budget is used up."""

    requests: list[str] = []
    cookies_sent: list[str | None] = []

    def _answer(self) -> None:
        TinyVendor.requests.append(f"{self.command} {self.path}")
        TinyVendor.cookies_sent.append(self.headers.get("Cookie"))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path.startswith("/drop"):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        status, remaining = 200, "9"
        body: dict[str, object] = {"ok": True}
        if self.path.startswith("/invalid"):
            status, body = 400, {"error": "Name is required"}
        if self.path.startswith("/spent"):
            remaining = "0"
        content = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.send_header("X-Minute-Limit", "10")
        self.send_header("X-Minute-Remaining", remaining)
        self.send_header("X-Minute-Reset", str(RESET_MS))
        self.send_header("Set-Cookie", "ARRAffinity=tenant-a; Path=/")  # as a load balancer's affinity cookie
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


class TinyClient(VendorHttpClient):
    vendor_id = "tiny"
    vendor_name = "Tiny"

    def error_for_response(self, response: httpx.Response) -> VendorError:
        return VendorValidationError(response.json()["error"], status=response.status_code)

    def rate_limits(self, headers: Mapping[str, str]) -> list[Observation]:
        if "X-Minute-Limit" not in headers:
            return []
        return [
            Observation(
                window=MINUTELY,
                limit=int(headers["X-Minute-Limit"]),
                remaining=int(headers["X-Minute-Remaining"]),
                reset_ms=int(headers["X-Minute-Reset"]),
            )
        ]


@pytest.fixture
def vendor() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), TinyVendor)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    TinyVendor.requests = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _limiter(store: LocalBudgetStore | RedisBudgetStore | None = None) -> VendorRateLimiter:
    policy = BudgetPolicy(
        default_lengths_ms={MINUTELY: 60_000}, clock_window=MINUTELY, guard_ms=0, probe_timeout_ms=5000
    )
    return VendorRateLimiter(
        vendor_name="Tiny", company_noun="company", store=store or LocalBudgetStore(), policy=policy, max_wait=0.1
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again at once: nothing listens there


# ---------------------------------------------------------------------------------------------- transport errors


@pytest.mark.parametrize("path", ["/drop", "/slow"])
def test_a_write_without_an_answer_is_lost_and_a_read_unavailable(vendor: str, path: str) -> None:
    client = TinyClient(timeout=0.3)
    with pytest.raises(VendorResponseLost) as lost:
        client.send("POST", f"{vendor}{path}", log_path="contacts", content=b"{}")
    assert lost.value.status is None and not lost.value.retryable and "may have been applied" in lost.value.message
    with pytest.raises(VendorUnavailable) as unavailable:
        client.send("GET", f"{vendor}{path}", log_path="contacts")
    assert not isinstance(unavailable.value, VendorResponseLost) and unavailable.value.retryable


def test_a_write_that_never_left_is_unavailable_not_lost() -> None:
    client = TinyClient(timeout=1.0)
    # Refused connection, and a URL no transport takes: both fail before the request leaves this machine.
    for url in (f"http://127.0.0.1:{_closed_port()}/contacts", "ftp://127.0.0.1/contacts"):
        with pytest.raises(VendorUnavailable) as raised:
            client.send("POST", url, log_path="contacts", content=b"{}")
        assert not isinstance(raised.value, VendorResponseLost), url
    assert httpx.ConnectError in NOT_SENT_ERRORS and httpx.UnsupportedProtocol in NOT_SENT_ERRORS


def test_error_statuses_raise_the_vendors_typed_error_unless_raise_for_says_otherwise(vendor: str) -> None:
    client = TinyClient(timeout=5.0)
    with pytest.raises(VendorValidationError) as raised:
        client.send("POST", f"{vendor}/invalid", log_path="contacts", content=b"{}")
    assert raised.value.status == 400 and raised.value.message == "Name is required"
    response = client.send("POST", f"{vendor}/invalid", log_path="contacts", content=b"{}", raise_for=never_raise)
    assert response.status_code == 400


# ---------------------------------------------------------------------------------------------- reporting


def test_every_call_is_reported_with_what_the_vendor_said_about_its_budget(vendor: str) -> None:
    calls: list[CallRecord] = []
    client = TinyClient(timeout=0.3, on_call=calls.append)
    client.send("GET", f"{vendor}/ok", log_path="contacts", company_id="7", headers={"Authorization": "Bearer s3cr3t"})
    with pytest.raises(VendorUnavailable):
        client.send("GET", f"{vendor}/drop", log_path="contacts/1", company_id="7")

    answered, unanswered = calls
    assert (answered.method, answered.path, answered.company_id, answered.status) == ("GET", "contacts", "7", 200)
    assert answered.window(MINUTELY) == Observation(window=MINUTELY, limit=10, remaining=9, reset_ms=RESET_MS)
    assert answered.minutely_remaining == 9 and answered.daily_remaining is None and answered.error == ""
    assert (unanswered.status, unanswered.error, unanswered.rate_limits) == (None, "no response", ())
    assert "s3cr3t" not in repr(calls)


def test_a_failing_call_log_does_not_fail_the_call(vendor: str) -> None:
    def broken(call: CallRecord) -> None:
        raise RuntimeError("call log down")

    response = TinyClient(timeout=5.0, on_call=broken).send("GET", f"{vendor}/ok", log_path="contacts")
    assert response.status_code == 200


# ---------------------------------------------------------------------------------------------- budget


def test_the_budget_is_reserved_before_the_call_and_reconciled_after(vendor: str) -> None:
    client = TinyClient(timeout=5.0, app_id="app", rate_limiter=_limiter())
    client.send("GET", f"{vendor}/spent", log_path="contacts", company_id="7")  # the vendor: nothing left
    with pytest.raises(VendorRateLimited):
        client.send("GET", f"{vendor}/ok", log_path="contacts", company_id="7")
    assert TinyVendor.requests == ["GET /spent"]  # refused before sending
    # Another company of the same app has a budget of its own; calls naming no company are not budgeted.
    client.send("GET", f"{vendor}/ok", log_path="contacts", company_id="8")
    client.send("GET", f"{vendor}/ok", log_path="me")
    assert client.budget_key("7") == "tiny:app:7"


def test_a_call_without_an_answer_does_not_hold_the_budget(vendor: str) -> None:
    client = TinyClient(timeout=0.3, app_id="app", rate_limiter=_limiter())
    with pytest.raises(VendorUnavailable):
        client.send("GET", f"{vendor}/drop", log_path="contacts", company_id="7")  # the probe learns nothing
    started = time.monotonic()
    client.send("GET", f"{vendor}/ok", log_path="contacts", company_id="7")
    assert time.monotonic() - started < 1.0  # not waiting for the lost probe's timeout


@pytest.mark.redis
def test_a_kept_reconcile_answer_is_read_later_and_the_store_has_the_reconcile_already(vendor: str) -> None:
    limiter = _limiter(RedisBudgetStore(os.environ["REDIS_URL"]))
    client = TinyClient(timeout=5.0, app_id="app", rate_limiter=limiter)
    limiter.forget(client.budget_key("7"))
    kept: list[Callable[[], None]] = []

    def keep(read: Callable[[], None]) -> bool:
        kept.append(read)
        return True

    with budget_answers_later(keep):
        client.send("GET", f"{vendor}/ok", log_path="contacts", company_id="7")
        assert kept == [], "a probe's reconcile is awaited: the calls queued behind it wait for it"
        client.send("GET", f"{vendor}/spent", log_path="contacts", company_id="7")  # the vendor: nothing left
    assert len(kept) == 1
    # Its answer not read yet, the store already has what the call said: the next call is refused unsent.
    with pytest.raises(VendorRateLimited):
        client.send("GET", f"{vendor}/ok", log_path="contacts", company_id="7")
    assert TinyVendor.requests == ["GET /ok", "GET /spent"]
    kept[0]()  # reads the answer and gives the store connection back
    limiter.forget(client.budget_key("7"))


@pytest.mark.parametrize(
    "params",
    [
        {"$select": "InvoiceID,Description", "$filter": "InvoiceID eq guid'3f1c2a4e-0000-4000-8000-0000000000b6'"},
        {"$filter": "substringof('Jan & Piet é 漢', Name) and Code eq '10/20'", "$top": "60", "empty": ""},
        {"q": "[]@!$&'()*+,;=:/?#%", "$skiptoken": "guid'a b'"},
    ],
)
def test_a_query_reaches_the_vendor_byte_for_byte_as_httpx_encodes_it(vendor: str, params: dict[str, str]) -> None:
    client = TinyClient(timeout=5.0)
    client.send("GET", f"{vendor}/ok/list", log_path="list", params=params)
    client.send("GET", f"{vendor}/ok/list?page=2", log_path="list", params=params)  # merged by httpx itself
    expected = httpx.URL(f"{vendor}/ok/list", params=params).raw_path.decode()
    merged = httpx.URL(f"{vendor}/ok/list?page=2", params=params).raw_path.decode()
    assert TinyVendor.requests == [f"GET {expected}", f"GET {merged}"]


def test_without_an_app_nothing_is_budgeted(vendor: str) -> None:
    client = TinyClient(timeout=5.0, rate_limiter=_limiter())  # the connect flow: no app known yet
    for _ in range(3):
        client.send("GET", f"{vendor}/spent", log_path="contacts", company_id="7")
    assert len(TinyVendor.requests) == 3 and client.rate_limiter is None


# ---------------------------------------------------------------------------------------------- pooling


def test_one_pooled_http_client_per_process_and_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    assert shared_http_client(7.0) is shared_http_client(7.0)
    assert shared_http_client(7.0) is not shared_http_client(8.0)
    parent = shared_http_client(7.0)
    # A forked child (Celery prefork) has another process id: it never shares the parent's sockets.
    monkeypatch.setattr(os, "getpid", lambda: -1)
    assert shared_http_client(7.0) is not parent


def test_the_shared_client_keeps_no_cookie_from_one_call_for_the_next(vendor: str) -> None:
    # One client serves every tenant's connections: a cookie set in one's answer must not reach another's request.
    client = TinyClient(timeout=2.0, http=shared_http_client(2.0))
    TinyVendor.cookies_sent.clear()
    client.send("GET", f"{vendor}/ok", log_path="contacts")
    client.send("GET", f"{vendor}/ok", log_path="contacts")
    assert TinyVendor.cookies_sent == [None, None]
    assert not shared_http_client(2.0).cookies


# ---------------------------------------------------------------------------------------------- answers' JSON


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        ('{"d":{"results":[{"AmountDC":121.0,"Quantity":-1.5,"ID":"x","Paid":false,"Notes":null}]}}', "utf-8"),
        ('{"Description":"Caf\\u00e9 \\u2013 ok","Count":9007199254740993}', "utf-8"),
        ('{"Amount":NaN,"Rate":Infinity}', "utf-8"),  # not JSON, but the standard library reads it (as before)
        ('{"Text":"\\ud800 lone surrogate"}', "utf-8"),
        ('{"Name":"Müller"}', "utf-16"),  # the standard library detects UTF-16 and UTF-32; orjson reads UTF-8 only
    ],
    ids=["page", "unicode and a 53-bit-plus integer", "nan", "lone surrogate", "utf-16"],
)
def test_json_bodies_read_as_the_standard_library_reads_them(content: str, encoding: str) -> None:
    response = httpx.Response(200, content=content.encode(encoding))
    body = TinyClient(timeout=1.0).json_body(response)
    expected = json.loads(content)
    assert json.dumps(body, sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_a_body_that_is_not_json_is_the_vendors_error() -> None:
    with pytest.raises(VendorError, match="Tiny answered HTTP 200 with a body that is not JSON"):
        TinyClient(timeout=1.0).json_body(httpx.Response(200, content=b"<html>busy</html>"))
    assert TinyClient(timeout=1.0).json_body(httpx.Response(204)) is None
