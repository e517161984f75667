"""Exact passthrough: the path policy (what stays inside the connection's division) and raw calls against the
sandbox (division injected, Exact's status and body returned as they are, the shared budget and call log apply)."""

from __future__ import annotations

import pytest

from connectors.base.data import PassthroughDenied
from connectors.base.errors import CompanyAccessDenied, VendorRateLimited
from connectors.exact.passthrough import checked_path
from tenants.models import CallLog, ConnectionStatus
from tenants.vendor_calls import connection_context
from tests.connectors.exact.provider_fixtures import Division, division_fixture  # noqa: F401
from tests.tenants.factories import connect_via_sandbox


@pytest.mark.parametrize(
    "path",
    [
        "crm/Accounts",
        "financial/GLAccounts",
        "crm/Accounts(guid'0f0f0f0f-0000-4000-8000-000000000000')",
        "salesinvoice/SalesInvoices(guid'0f0f0f0f-0000-4000-8000-000000000000')/SalesInvoiceLines",
        "crm/Accounts/$count",
        "sync/Financial/TransactionLines",
        "bulk/CRM/Accounts",
        "read/financial/ReceivablesList",
    ],
)
def test_paths_inside_the_division_are_allowed(path: str) -> None:
    assert checked_path(path, "GET") == path


@pytest.mark.parametrize(
    "path",
    [
        "",
        "https://evil.example/api/v1/102/crm/Accounts",
        "//evil.example/crm/Accounts",
        "javascript:alert(1)",
        "/api/v1/102/crm/Accounts",
        "\\crm\\Accounts",
        "../102/crm/Accounts",
        "crm/Accounts/../../../102/crm/Accounts",
        "crm/./Accounts",
        "crm//Accounts",
        "%2e%2e/102/crm/Accounts",
        "%252e%252e/102/crm/Accounts",
        "crm%2F..%2F..%2F102",
        "102/crm/Accounts",
        "current/Me",
        "system/Divisions",
        "System/AllDivisions",
        "oauth2/token",
        "../../oauth2/token",
        "api/oauth2/token",
        "webhooks/WebhookSubscriptions",
        "crm/Accounts?$select=ID",
        "crm/Accounts#x",
        "crm/Accounts\n",
        "crm/Acc ounts",
    ],
)
def test_paths_that_leave_the_division_are_denied(path: str) -> None:
    with pytest.raises(PassthroughDenied) as denied:
        checked_path(path, "GET")
    assert denied.value.reason


@pytest.mark.parametrize("method", ["PATCH", "MERGE", "OPTIONS", "get "])
def test_only_the_four_methods_are_passed_through(method: str) -> None:
    with pytest.raises(PassthroughDenied):
        checked_path("crm/Accounts", method)


@pytest.mark.django_db(transaction=True)
class TestAgainstTheSandbox:
    def test_a_get_goes_to_the_connections_division_with_the_query(self, division: Division) -> None:
        division.world.control.set_current_division(division.world.user_id, 102)  # the UI's division is not ours
        division.world.control.reset_counters()

        result = division.connector.passthrough(
            division.ctx(),
            method="GET",
            path="financial/GLAccounts",
            query={"$select": "Code,Description", "$filter": "Code eq '8000'"},
            body=None,
        )

        assert result.status == 200
        (row,) = result.body["d"]["results"]
        assert row["Code"].strip() == "8000" and set(row) == {"__metadata", "Code", "Description"}
        assert "x-ratelimit-minutely-remaining" in result.headers  # httpx gives header names in lower case
        assert division.calls() == {"financial/GLAccounts": {"200": 1}}
        assert CallLog.objects.filter(connection=division.connection, path="financial/GLAccounts").count() == 1

    def test_writes_and_refusals_come_back_as_exact_gave_them(self, division: Division) -> None:
        created = division.connector.passthrough(
            division.ctx(), method="POST", path="crm/Accounts", query={}, body={"Name": "Via passthrough B.V."}
        )
        assert created.status == 201 and created.body["d"]["Name"] == "Via passthrough B.V."
        account_id = created.body["d"]["ID"]

        changed = division.connector.passthrough(
            division.ctx(), method="PUT", path=f"crm/Accounts(guid'{account_id}')", query={}, body={"City": "Delft"}
        )
        assert changed.status == 204 and changed.body is None
        (stored,) = [row for row in division.dump("Accounts") if row["ID"] == account_id]
        assert stored["City"] == "Delft"

        refused = division.connector.passthrough(division.ctx(), method="POST", path="crm/Accounts", query={}, body={})
        assert refused.status == 400 and "Verplicht" in str(refused.body)
        missing = division.connector.passthrough(
            division.ctx(),
            method="GET",
            path="crm/Accounts(guid'0f0f0f0f-0000-4000-8000-000000000000')",
            query={"$select": "ID"},
            body=None,
        )
        assert missing.status == 404

    def test_denied_paths_make_no_call(self, division: Division) -> None:
        division.world.control.reset_counters()
        for path in ("../102/crm/Accounts", "current/Me", "webhooks/WebhookSubscriptions"):
            with pytest.raises(PassthroughDenied):
                division.connector.passthrough(division.ctx(), method="GET", path=path, query={}, body=None)
        assert division.calls() == {}

    def test_rate_limits_apply(self, division: Division, settings) -> None:  # type: ignore[no-untyped-def]
        settings.EXACT_RATE_LIMIT_MAX_WAIT = 0.0  # fail fast instead of waiting for the next minute
        division.world.control.set_limits(minutely_limit=2)
        division.world.control.reset_limit_usage()
        with pytest.raises(VendorRateLimited):
            for _ in range(4):
                division.connector.passthrough(
                    division.ctx(), method="GET", path="crm/Accounts", query={"$select": "ID", "$top": "1"}, body=None
                )

    def test_no_division_access_marks_the_connection(self, division: Division, workspace) -> None:  # type: ignore[no-untyped-def]
        _, (not_granted,) = connect_via_sandbox(division.world, workspace=workspace, divisions=[101], connect=(102,))
        with pytest.raises(CompanyAccessDenied):
            division.connector.passthrough(
                connection_context(not_granted), method="GET", path="crm/Accounts", query={"$top": "1"}, body=None
            )
        not_granted.refresh_from_db()
        assert not_granted.status == ConnectionStatus.NEEDS_REAUTH
