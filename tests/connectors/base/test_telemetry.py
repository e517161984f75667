"""The shared client's telemetry hook: one event per call with a bounded endpoint, budget refusals, broken sinks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from connectors.base.errors import VendorRateLimited, VendorUnavailable
from connectors.base.http import endpoint_template
from connectors.base.telemetry import (
    BudgetRefusal,
    VendorCall,
    telemetry_register,
    telemetry_unregister,
)
from tests.connectors.base.test_http import TinyClient, _limiter, vendor  # noqa: F401 (the fixture)


class KnownTinyClient(TinyClient):
    known_endpoints: ClassVar[frozenset[str]] = frozenset({"crm/Accounts", "spent", "ok"})


class Recorder:
    def __init__(self) -> None:
        self.calls: list[VendorCall] = []
        self.refusals: list[BudgetRefusal] = []

    def vendor_call(self, event: VendorCall) -> None:
        self.calls.append(event)

    def budget_refusal(self, event: BudgetRefusal) -> None:
        self.refusals.append(event)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    sink = Recorder()
    telemetry_register(sink)
    try:
        yield sink
    finally:
        telemetry_unregister(sink)


def test_endpoint_templates_drop_keys_and_queries_and_name_only_known_endpoints() -> None:
    known = frozenset({"crm/Accounts", "sync/CRM/Accounts"})
    assert endpoint_template("crm/Accounts(guid'5c3b1f0e-0000-4000-8000-000000000001')", known) == "crm/Accounts"
    assert endpoint_template("/crm/accounts?$filter=Code eq '1'", known) == "crm/Accounts"
    assert endpoint_template("sync/crm/Accounts", known) == "sync/CRM/Accounts"
    # Ids as path segments (Xero: `Invoices/<guid>`) go too.
    assert endpoint_template("crm/Accounts/5c3b1f0e-0000-4000-8000-000000000001", known) == "crm/Accounts"
    assert endpoint_template("crm/Accounts/42/", known) == "crm/Accounts"
    # A passthrough path is caller input: anything not known is one value, so callers cannot grow the label.
    assert endpoint_template("crm/Contacts", known) == "other"
    assert endpoint_template(f"read/{'x' * 500}", known) == "other"


def test_every_call_answered_or_not_is_one_event(vendor: str, recorder: Recorder) -> None:  # noqa: F811
    client = KnownTinyClient(timeout=0.3)
    client.send("GET", f"{vendor}/ok", log_path="ok")
    client.send("POST", f"{vendor}/invalid", log_path="crm/Accounts(guid'1')", content=b"{}", raise_for=lambda r: False)
    with pytest.raises(VendorUnavailable):
        client.send("GET", f"{vendor}/slow", log_path="weird/Path")

    assert [(c.connector, c.endpoint, c.method, c.status, c.throttle) for c in recorder.calls] == [
        ("tiny", "ok", "GET", 200, None),
        ("tiny", "crm/Accounts", "POST", 400, None),
        ("tiny", "other", "GET", None, None),
    ]
    assert all(call.duration_seconds >= 0 for call in recorder.calls)
    assert recorder.calls[2].duration_seconds >= 0.25  # the read timeout it waited, not 0


def test_a_call_our_budget_refuses_is_a_refusal_not_a_call(vendor: str, recorder: Recorder) -> None:  # noqa: F811
    client = KnownTinyClient(timeout=5.0, app_id="app", rate_limiter=_limiter())
    client.send("GET", f"{vendor}/spent", log_path="spent", company_id="7")
    with pytest.raises(VendorRateLimited):
        client.send("GET", f"{vendor}/ok", log_path="ok", company_id="7")
    assert [call.endpoint for call in recorder.calls] == ["spent"]
    assert recorder.refusals == [BudgetRefusal(connector="tiny", window="minute")]


def test_a_failing_sink_does_not_fail_the_call(vendor: str, recorder: Recorder) -> None:  # noqa: F811
    class Broken:
        def vendor_call(self, event: VendorCall) -> None:
            raise RuntimeError("metrics down")

        def budget_refusal(self, event: BudgetRefusal) -> None:
            raise RuntimeError("metrics down")

    broken = Broken()
    telemetry_register(broken)
    try:
        response = KnownTinyClient(timeout=5.0).send("GET", f"{vendor}/ok", log_path="ok")
    finally:
        telemetry_unregister(broken)
    assert response.status_code == 200
    assert len(recorder.calls) == 1  # the sinks after the broken one still hear about it
