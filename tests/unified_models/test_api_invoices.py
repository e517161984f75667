"""Invoices through the API against the sandbox: three lines at three VAT rates land correctly in the division,
Idempotency-Key makes a retried create one invoice, a missing mapping is refused before any call, Exact's
refusals come back split in the problem's vendor part, finalizing processes the invoice. Tests on `any_mapped` run
for every connector; those on `connected`/`mapped` check Exact's tables, journals and messages (Exact-specific)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from tests.tenants.factories import connect_via_sandbox
from tests.unified_models.conftest import Connected, invoice_body, mapping_store
from unified_models.models import Mutation, MutationStatus

pytestmark = pytest.mark.django_db(transaction=True)


def _by_code(rows: list[dict], key: str = "Code") -> dict[str, dict]:  # type: ignore[type-arg]
    return {str(row[key]).strip(): row for row in rows}


def test_three_lines_at_three_vat_rates_land_in_the_division(mapped: Connected, first_customer_id: str) -> None:
    response = mapped.client.post(mapped.url("invoices"), invoice_body(first_customer_id), format="json")

    assert response.status_code == 201, response.json()
    invoice = response.json()
    assert invoice["type"] == "invoice" and invoice["status"] == "open"
    assert invoice["contact_id"] == first_customer_id
    assert invoice["journal_code"] == "70"
    assert invoice["reference"] == "ORDER-4711"
    assert [line["tax_rate_id"] for line in invoice["lines"]] == ["2", "1", "0"]
    assert [line["net_amount"] for line in invoice["lines"]] == ["200.00", "119.85", "50.00"]
    assert [line["tax_amount"] for line in invoice["lines"]] == ["42.00", "10.79", "0.00"]
    assert (invoice["net_total"], invoice["tax_total"], invoice["total"]) == ("369.85", "52.79", "422.64")
    assert invoice["currency"] == "EUR"
    assert invoice["mutation_id"] and "remote_data" not in invoice
    assert isinstance(invoice["warnings"], list)

    # What Exact stored, read from the sandbox's own dump.
    (stored,) = [row for row in mapped.dump("SalesInvoices") if row["InvoiceID"] == invoice["remote_id"]]
    assert str(stored["Journal"]).strip() == "70"
    assert stored["InvoiceTo"] == stored["OrderedBy"] == first_customer_id
    assert stored["YourRef"] == "ORDER-4711"
    assert Decimal(str(stored["AmountFCExclVat"])) == Decimal("369.85")
    assert Decimal(str(stored["VATAmountFC"])) == Decimal("52.79")
    assert Decimal(str(stored["AmountFC"])) == Decimal("422.64")
    lines = sorted(
        (row for row in mapped.dump("SalesInvoiceLines") if row["InvoiceID"] == invoice["remote_id"]),
        key=lambda row: row["LineNumber"],
    )
    items = {row["ID"]: str(row["Code"]).strip() for row in mapped.dump("Items")}
    gl_accounts = {row["ID"]: str(row["Code"]).strip() for row in mapped.dump("GLAccounts")}
    assert [str(line["VATCode"]).strip() for line in lines] == ["2", "1", "0"]
    assert [items[line["Item"]] for line in lines] == ["CONSULT", "BOOK", "CONSULT"]
    assert [gl_accounts[line["GLAccount"]] for line in lines] == ["8000", "8010", "8000"]
    assert [Decimal(str(line["AmountFC"])) for line in lines] == [Decimal("200"), Decimal("119.85"), Decimal("50")]
    assert [Decimal(str(line["VATAmountFC"])) for line in lines] == [Decimal("42"), Decimal("10.79"), Decimal("0")]
    assert [Decimal(str(line["Quantity"])) for line in lines] == [Decimal(2), Decimal(3), Decimal(1)]

    mutation = Mutation.objects.get(pk=invoice["mutation_id"])
    assert mutation.status == MutationStatus.SUCCEEDED and mutation.remote_id == invoice["remote_id"]
    assert mutation.attempts == 1 and mutation.attempt_log.get().finished_at is not None


def test_retrieve_and_list_show_the_invoice(any_mapped: Connected, any_customer_id: str) -> None:
    mapped = any_mapped
    created = mapped.client.post(mapped.url("invoices"), mapped.invoice_body(any_customer_id), format="json").json()

    retrieved = mapped.client.get(mapped.url(f"invoices/{created['id']}"))
    assert retrieved.status_code == 200
    assert retrieved.json()["total"] == str(mapped.invoice_total()) and len(retrieved.json()["lines"]) == 3
    raw = mapped.client.get(mapped.url(f"invoices/{created['id']}"), {"include": "remote_data"}).json()
    assert raw["remote_data"]["InvoiceID"] == created["remote_id"]

    listed = mapped.client.get(mapped.url("invoices"), {"page_size": 200}).json()
    assert created["id"] in {invoice["id"] for invoice in listed["results"]}


def test_the_same_idempotency_key_twice_creates_one_invoice(any_mapped: Connected, any_customer_id: str) -> None:
    mapped = any_mapped
    body = mapped.invoice_body(any_customer_id, reference="ORDER-IDEM")
    first = mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="inv-7")
    second = mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="inv-7")

    assert first.status_code == second.status_code == 201
    assert first["Idempotent-Replayed"] == "false" and second["Idempotent-Replayed"] == "true"
    assert first.json() == second.json()
    assert mapped.invoices_with_reference("ORDER-IDEM") == 1
    assert Mutation.objects.filter(idempotency_key="inv-7").count() == 1

    other = mapped.client.post(
        mapped.url("invoices"), {**body, "reference": "OTHER"}, format="json", HTTP_IDEMPOTENCY_KEY="inv-7"
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def test_a_missing_mapping_is_refused_before_any_call_reaches_the_vendor(
    any_mapped: Connected, any_customer_id: str
) -> None:
    mapped = any_mapped
    standard, reduced = mapped.profile.rates
    (rule,) = [rule for rule in mapped.profile.mapping["tax_rates"] if rule.get("rate") == standard]
    mapping_store(mapped.connection, {"tax_rates": [rule]})  # no rule for the reduced rate or 0 %
    mapped.world.control.reset_counters()

    response = mapped.client.post(mapped.url("invoices"), mapped.invoice_body(any_customer_id), format="json")

    assert response.status_code == 422, response.json()
    problem = response.json()
    assert problem["code"] == "mapping_missing"
    assert problem["errors"][0]["field"] == "mapping.tax_rates"
    assert reduced in problem["errors"][0]["message"]
    assert mapped.calls() == {}, "no call may reach the vendor"
    mutation = Mutation.objects.get()
    assert mutation.status == MutationStatus.FAILED and mutation.error_code == "mapping_missing"


def test_no_default_journal_names_the_mapping_field(connected: Connected) -> None:
    mapping_store(connected.connection, {"default_sales_journal": None})
    connected.world.control.reset_counters()
    body = invoice_body("00000000-0000-4000-8000-000000000000")
    response = connected.client.post(connected.url("invoices"), body, format="json")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "mapping.default_sales_journal",
            "code": "missing",
            "message": response.json()["errors"][0]["message"],
        }
    ]
    assert connected.calls() == {}


def test_input_errors_name_the_field(any_mapped: Connected) -> None:
    mapped = any_mapped
    mapped.world.control.reset_counters()
    body = {
        "contact_id": "x",
        "lines": [
            {"quantity": "abc", "unit_price": "1"},
            {"quantity": "1", "unit_price": "1", "tax_rate": "21", "tax_code": "high"},
        ],
        "currency": "euro",
        "due_date": "31-12-2025",
    }
    response = mapped.client.post(mapped.url("invoices"), body, format="json")
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"lines.0.quantity", "lines.1.tax_rate", "currency", "due_date"} <= fields
    no_lines = mapped.client.post(mapped.url("invoices"), {"contact_id": "x", "lines": []}, format="json")
    assert no_lines.status_code == 422 and no_lines.json()["errors"][0]["field"] == "lines"
    assert mapped.calls() == {}
    assert not Mutation.objects.exists()


def test_an_invalid_reference_is_a_422_with_exacts_messages_split(mapped: Connected) -> None:
    # A contact GUID that does not exist: Exact answers HTTP 500 "Ongeldige referentie" (picqer#249).
    body = invoice_body("0f0f0f0f-0000-4000-8000-000000000000")
    response = mapped.client.post(mapped.url("invoices"), body, format="json")

    assert response.status_code == 422, response.json()
    problem = response.json()
    assert problem["code"] == "vendor_validation_failed"
    assert problem["vendor"]["status"] == 500
    messages = problem["vendor"]["messages"]
    assert len(messages) >= 2 and all("\r\n" not in message for message in messages)
    assert all(message.startswith("Ongeldige referentie") for message in messages)
    mutation = Mutation.objects.get()
    assert mutation.status == MutationStatus.FAILED and mutation.error_code == "vendor_validation_failed"
    assert mutation.outcome["vendor"]["messages"] == messages


def test_fields_exact_cannot_store_come_back_as_warnings(mapped: Connected, first_customer_id: str) -> None:
    body = invoice_body(first_customer_id, number="2025-001", issue_date="2025-03-01")
    response = mapped.client.post(mapped.url("invoices"), body, format="json")
    assert response.status_code == 201
    warned = {warning["field"] for warning in response.json()["warnings"]}
    assert {"number", "issue_date"} <= warned
    assert all(warning["code"] and warning["message"] for warning in response.json()["warnings"])


def test_a_finalized_invoice_shows_as_processed(mapped: Connected, first_customer_id: str) -> None:
    created = mapped.client.post(mapped.url("invoices"), invoice_body(first_customer_id), format="json").json()

    response = mapped.client.post(
        mapped.url(f"invoices/{created['id']}/finalize"), format="json", HTTP_IDEMPOTENCY_KEY="fin-1"
    )

    assert response.status_code == 200, response.json()
    finalized = response.json()
    assert finalized["id"] == created["id"]
    assert finalized["finalized"] is True
    assert finalized["number"]  # Exact numbers the invoice when it processes it
    (stored,) = [row for row in mapped.dump("SalesInvoices") if row["InvoiceID"] == created["remote_id"]]
    assert stored["Status"] == 50
    assert mapped.client.get(mapped.url(f"invoices/{created['id']}")).json()["finalized"] is True
    assert Mutation.objects.get(pk=finalized["mutation_id"]).operation == "finalize"

    again = mapped.client.post(mapped.url(f"invoices/{created['id']}/finalize"), format="json")
    assert again.status_code == 422 and again.json()["code"] == "vendor_validation_failed"
    assert again.json()["vendor"]["messages"]


def test_an_unknown_invoice_is_not_found(any_mapped: Connected) -> None:
    mapped = any_mapped
    response = mapped.client.get(mapped.url("invoices/0f0f0f0f-0000-4000-8000-000000000000"))
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_the_demo_connects_division_101_and_its_printed_curl_lines_work(
    exact_sandbox, settings, workspace, api_key, auth_client
) -> None:  # type: ignore[no-untyped-def]
    """manage.py demo's connection, mapping and curl lines, against a sandbox set up as the demo sets it up."""
    import shlex

    from connectors.registry import reset_registry
    from gateway.demo import services as demo
    from tenants.services import tenant_create

    control = exact_sandbox.control
    control.reset()
    demo.sandbox_world_ensure(control, public_url="http://testserver")
    for key, value in demo.sandbox_env(sandbox_url=exact_sandbox.root_url, public_url="http://testserver").items():
        setattr(settings, key, value)
    reset_registry()
    try:
        tenant = tenant_create(workspace=workspace, external_id=demo.DEMO_TENANT_EXTERNAL_ID, name="Bakkerij")
        connection = demo.demo_connection_ensure(control, tenant=tenant)
        assert (connection.company_id, connection.status) == ("101", "active")
        assert demo.demo_connection_ensure(control, tenant=tenant).pk == connection.pk  # a second run reuses it
        assert demo.demo_mapping_ensure(connection) == ""
        # Auto-consent is off again: the printed connect link still shows Exact's consent page to a browser.
        assert demo.DEMO_CLIENT_ID not in exact_sandbox.world.auto_consent

        create_line, list_line = demo.invoice_curl_lines(
            base="http://testserver",
            api_key=api_key.secret,
            connection_id=str(connection.pk),
            contact_id=demo.demo_customer_id(connection),
        )
        create = shlex.split(create_line.split(":", 1)[1])
        body, url = create[create.index("-d") + 1], create[-1]
        created = auth_client.post(url.replace("http://testserver", ""), body, content_type="application/json")
        assert created.status_code == 201, created.json()
        assert created.json()["total"] == "335.55" and created.json()["journal_code"] == "70"
        listed = auth_client.get(shlex.split(list_line.split(":", 1)[1])[-1].replace("http://testserver", ""))
        assert created.json()["id"] in {invoice["id"] for invoice in listed.json()["results"]}
    finally:
        reset_registry()


def test_update_changes_what_exact_allows_and_names_what_it_does_not(mapped: Connected, first_customer_id: str) -> None:
    created = mapped.client.post(mapped.url("invoices"), invoice_body(first_customer_id), format="json").json()

    updated = mapped.client.patch(
        mapped.url(f"invoices/{created['id']}"),
        {"due_date": "2030-01-31", "reference": "ORDER-4711-B"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="inv-upd-1",
    )

    assert updated.status_code == 200, updated.json()
    assert updated.json()["due_date"] == "2030-01-31" and updated.json()["reference"] == "ORDER-4711-B"
    (stored,) = [row for row in mapped.dump("SalesInvoices") if row["InvoiceID"] == created["remote_id"]]
    assert stored["YourRef"] == "ORDER-4711-B"
    assert Mutation.objects.get(pk=updated.json()["mutation_id"]).operation == "update"

    mapped.world.control.reset_counters()
    refused = mapped.client.patch(mapped.url(f"invoices/{created['id']}"), {"journal_code": "71"}, format="json")
    assert refused.status_code == 422, refused.json()
    assert refused.json()["code"] == "invalid_input" and refused.json()["errors"][0]["field"] == "journal_code"
    assert mapped.calls() == {}


def test_invoices_can_be_listed_per_contact(mapped: Connected, first_customer_id: str) -> None:
    mapped.client.post(mapped.url("invoices"), invoice_body(first_customer_id, reference="MINE"), format="json")
    mapped.world.control.seed(mapped.division, invoices=20, seed=11)

    listed = mapped.client.get(mapped.url("invoices"), {"contact_id": first_customer_id, "page_size": 200})

    assert listed.status_code == 200
    results = listed.json()["results"]
    assert results and {invoice["contact_id"] for invoice in results} == {first_customer_id}
    assert "MINE" in {invoice["reference"] for invoice in results}
    bad = mapped.client.get(mapped.url("invoices"), {"contact_id": "not-a-guid"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "contact_id"


def test_a_contact_and_its_invoice_created_through_the_api_appear_in_the_dump(mapped: Connected) -> None:
    contact = mapped.client.post(
        mapped.url("contacts"), {"name": "Koffiebranderij Noord", "is_customer": True}, format="json"
    ).json()
    invoice = mapped.client.post(mapped.url("invoices"), invoice_body(contact["id"]), format="json")
    assert invoice.status_code == 201, invoice.json()

    (account,) = [row for row in mapped.dump("Accounts") if row["ID"] == contact["remote_id"]]
    assert account["Name"] == "Koffiebranderij Noord" and account["Status"] == "C"
    (stored,) = [row for row in mapped.dump("SalesInvoices") if row["InvoiceID"] == invoice.json()["remote_id"]]
    assert stored["InvoiceTo"] == contact["remote_id"] and str(stored["Journal"]).strip() == "70"
    assert Decimal(str(stored["AmountFC"])) == Decimal("422.64")
    lines = [row for row in mapped.dump("SalesInvoiceLines") if row["InvoiceID"] == stored["InvoiceID"]]
    assert sorted(str(line["VATCode"]).strip() for line in lines) == ["0", "1", "2"]


def test_exacts_rate_limit_is_a_429_with_retry_after(exact_world, workspace, auth_client) -> None:  # type: ignore[no-untyped-def]
    # Division 103 on its own: the spent budget is shared through Redis per app and division, so using 101 here
    # would throttle tests running beside this one.
    _, (connection,) = connect_via_sandbox(exact_world, workspace=workspace, divisions=[103], connect=(103,))
    exact_world.control.set_limits(minutely_limit=1)
    # Start just after a sandbox minute boundary: near the end of a window the gateway would rightly wait for the
    # next one (its budget waits up to a few seconds) and this test would see a 200.
    now = datetime.fromisoformat(exact_world.control.advance_clock(0))
    exact_world.control.advance_clock((61 - now.second) % 60)
    base = f"/api/v1/connections/{connection.pk}"
    auth_client.get(f"{base}/journals")  # spends the one call of this minute

    response = auth_client.get(f"{base}/tax-rates")

    assert response.status_code == 429, response.json()
    assert response.json()["code"] == "vendor_rate_limited"
    assert int(response.headers["Retry-After"]) >= 1 and response.json()["retry_after"] >= 1
