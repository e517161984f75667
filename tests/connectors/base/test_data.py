"""connectors/base/data.py: what a call record tells about the vendor's rate-limit windows, and the refusals
every connector raises with the same wording."""

from __future__ import annotations

from connectors.base.data import CallRecord, OperationNotSupported, PassthroughDenied, Resource
from connectors.base.ratelimit import DAILY, MINUTELY, Observation


def test_a_call_record_reads_each_window_the_response_reported() -> None:
    record = CallRecord(
        method="GET",
        path="crm/Accounts",
        status=200,
        duration_ms=12,
        rate_limits=(Observation(MINUTELY, 60, 59, 1_000), Observation(DAILY, 5_000, 4_200, 86_000_000)),
    )
    assert record.minutely_remaining == 59 and record.daily_remaining == 4_200
    assert record.window(DAILY) == Observation(DAILY, 5_000, 4_200, 86_000_000)


def test_a_call_without_rate_limit_headers_has_no_remaining_budget_to_report() -> None:
    record = CallRecord(method="POST", path="crm/Accounts", status=None, duration_ms=30_000, error="timeout")
    assert record.minutely_remaining is None and record.daily_remaining is None and record.window("hourly") is None


def test_refusals_name_the_vendor_operation_and_resource() -> None:
    refused = OperationNotSupported(Resource.PURCHASE_INVOICES, "create", "Xero")
    assert str(refused) == "Xero does not support create on purchase-invoices."
    assert (refused.resource, refused.operation, refused.vendor) == (Resource.PURCHASE_INVOICES, "create", "Xero")
    denied = PassthroughDenied("../other/Accounts", "The path leaves the connection's company.")
    assert (denied.path, str(denied)) == ("../other/Accounts", "The path leaves the connection's company.")
