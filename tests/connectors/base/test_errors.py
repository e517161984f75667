"""connectors/base/errors.py: what callers may conclude from each vendor error: whether a retry may help, which
ones are auth failures, and that a lost write answer is never retried blindly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.base import errors


def test_only_an_unavailable_vendor_is_retryable_and_a_lost_write_answer_is_not() -> None:
    assert errors.VendorUnavailable("down", status=503).retryable is True
    lost = errors.VendorResponseLost("read timeout after POST")
    # Still a VendorUnavailable (callers that only know that class treat it as possibly applied), but never resent.
    assert isinstance(lost, errors.VendorUnavailable) and lost.retryable is False and lost.status is None
    for error in (
        errors.VendorValidationError("bad", status=400, vendor_messages=["Account: required"]),
        errors.VendorNotFound("gone", status=404),
        errors.VendorAuthError("refused", status=401),
        errors.VendorRateLimited("spent", reset_at=datetime(2025, 3, 1, tzinfo=UTC)),
        errors.TokenResponseLost("no answer"),
    ):
        assert error.retryable is False, error


@pytest.mark.parametrize(
    "error",
    [
        errors.RefreshTokenRejected("dead", reason="invalid_grant"),
        errors.TooEarlyToRefresh("wait"),
        errors.CompanyAccessDenied("no division", reason="NoDivisionAccess"),
    ],
)
def test_credential_and_company_refusals_are_auth_errors(error: errors.VendorError) -> None:
    assert isinstance(error, errors.VendorAuthError)


def test_each_error_keeps_what_the_caller_needs() -> None:
    refused = errors.VendorValidationError("refused", status=400, vendor_messages=["Account: required", "Date: bad"])
    assert (str(refused), refused.message, refused.status) == ("refused", "refused", 400)
    assert refused.vendor_messages == ["Account: required", "Date: bad"]
    assert errors.VendorError("x").vendor_messages == []
    reset = datetime(2025, 3, 1, 10, 1, tzinfo=UTC)
    ours = errors.VendorRateLimited("budget", reset_at=reset, status=None, budget_window="minutely")
    assert (ours.reset_at, ours.status, ours.budget_window) == (reset, None, "minutely")
    assert errors.VendorRateLimited("vendor's", reset_at=reset).status == 429
    denied = errors.CompanyAccessDenied("no access", reason="NoDivisionAccess")
    assert (denied.status, denied.reason) == (403, "NoDivisionAccess")
    unusable = errors.ConnectionNotUsable("disabled", status_code="disabled", reason="operator")
    assert (unusable.status_code, unusable.reason, unusable.status) == ("disabled", "operator", None)
