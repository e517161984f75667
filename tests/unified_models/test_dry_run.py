"""`?dry_run=true` on writes: the answer is the vendor payload a real write of the same input then sends, byte for
byte (compared with what the sandbox received), and the sandbox sees no write; nothing is recorded. The byte
comparisons read the Exact sandbox's request log (Exact-only); the last test runs for every connector."""

from __future__ import annotations

import json

import pytest

from events.models import AuditEvent, Event
from tests.unified_models.conftest import Connected, invoice_body
from unified_models.models import Mutation

pytestmark = pytest.mark.django_db(transaction=True)


def _writes(connected: Connected) -> list[dict]:  # type: ignore[type-arg]
    """Write requests the sandbox received (with their bodies as received)."""
    requests = connected.world.control.requests()
    return [r for r in requests if r["method"] in ("POST", "PUT", "DELETE") and "/oauth2/" not in r["path"]]


def test_a_dry_run_returns_the_payload_the_real_write_then_sends(mapped: Connected, first_customer_id: str) -> None:
    body = invoice_body(first_customer_id, reference="DRY-1")
    mapped.world.control.clear_requests()
    mapped.world.control.reset_counters()

    dry = mapped.client.post(mapped.url("invoices") + "?dry_run=true", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert dry.status_code == 200, dry.json()
    preview = dry.json()
    assert preview["dry_run"] is True and preview["operation"] == "create"
    (request,) = preview["vendor_requests"]
    assert request["method"] == "POST" and request["path"] == "salesinvoice/SalesInvoices"
    assert json.loads(request["body_text"]) == request["body"]
    assert request["body"]["YourRef"] == "DRY-1" and len(request["body"]["SalesInvoiceLines"]) == 3
    assert _writes(mapped) == [], "the sandbox saw a write"
    assert not any(endpoint.startswith("salesinvoice") and "POST" in endpoint for endpoint in mapped.calls())
    assert [row["YourRef"] for row in mapped.dump("SalesInvoices")].count("DRY-1") == 0
    assert not Mutation.objects.exists() and not AuditEvent.objects.exists() and not Event.objects.exists()

    # The same input for real, with the same Idempotency-Key (the dry run did not claim it).
    real = mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert real.status_code == 201, real.json()
    (sent,) = _writes(mapped)
    assert sent["path"].endswith("/salesinvoice/SalesInvoices")
    assert sent["body"] == request["body_text"]  # byte-equal JSON
    assert AuditEvent.objects.get().vendor_payload == request["body_text"]


def test_a_dry_run_update_and_finalize_send_nothing(mapped: Connected, first_customer_id: str) -> None:
    created = mapped.client.post(mapped.url("invoices"), invoice_body(first_customer_id), format="json").json()
    mapped.world.control.clear_requests()

    update = mapped.client.patch(
        mapped.url(f"invoices/{created['id']}") + "?dry_run=true", {"description": "April services"}, format="json"
    )
    assert update.status_code == 200, update.json()
    (put,) = update.json()["vendor_requests"]
    assert put["method"] == "PUT" and put["body"] == {"Description": "April services"}

    finalize = mapped.client.post(mapped.url(f"invoices/{created['id']}/finalize") + "?dry_run=true")
    assert finalize.status_code == 200 and finalize.json()["vendor_requests"][0]["method"] == "POST"
    assert _writes(mapped) == []
    real = mapped.client.patch(
        mapped.url(f"invoices/{created['id']}"), {"description": "April services"}, format="json"
    )
    assert real.status_code == 200
    (sent,) = _writes(mapped)
    assert sent["method"] == "PUT" and sent["body"] == put["body_text"]


def test_a_dry_run_still_refuses_bad_input_and_a_missing_mapping(mapped: Connected, first_customer_id: str) -> None:
    body = invoice_body(first_customer_id)
    body["lines"][0]["tax_rate"] = "7"  # no mapping for 7 %
    response = mapped.client.post(mapped.url("invoices") + "?dry_run=true", body, format="json")
    assert response.status_code == 422 and response.json()["code"] == "mapping_missing"
    response = mapped.client.post(mapped.url("invoices") + "?dry_run=maybe", body, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "dry_run"
    assert list(Mutation.objects.values("resource", "operation", "status")) == [] and _writes(mapped) == []


def test_a_dry_run_passthrough_write(mapped: Connected) -> None:
    body = {"method": "POST", "path": "crm/Accounts", "body": {"Name": "Dry Run B.V.", "Status": "C"}}
    response = mapped.client.post(mapped.url("passthrough") + "?dry_run=true", body, format="json")
    assert response.status_code == 200, response.json()
    (request,) = response.json()["vendor_requests"]
    assert request["path"] == "crm/Accounts" and request["body"] == {"Name": "Dry Run B.V.", "Status": "C"}
    assert _writes(mapped) == []


def test_a_dry_run_is_as_strict_as_the_schema(mapped: Connected, first_customer_id: str) -> None:
    created = mapped.client.post(mapped.url("invoices"), invoice_body(first_customer_id), format="json").json()
    mapped.world.control.clear_requests()
    mutations = Mutation.objects.count()
    line = invoice_body(first_customer_id)["lines"][0]
    cases = [
        ("post", "contacts", {"name": "Null Address B.V.", "addresses": [None]}, "addresses.0"),
        ("post", "contacts", {"name": "Integer Boolean B.V.", "is_customer": 1}, "is_customer"),
        ("post", "items", {"code": "DRY", "name": "Dry", "is_sales_item": 0}, "is_sales_item"),
        ("post", "items", {"code": "DRY", "name": "Dry", "unit_price": 12}, "unit_price"),
        (
            "post",
            "invoices",
            invoice_body(first_customer_id, lines=[{**line, "unit_price": 100}]),
            "lines.0.unit_price",
        ),
        ("patch", f"invoices/{created['id']}", {"lines": []}, "lines"),
        ("patch", f"invoices/{created['id']}", {"due_date": "2030-1-31"}, "due_date"),
    ]
    for method, path, body, field in cases:
        for dry_run in ("true", "false"):
            response = getattr(mapped.client, method)(mapped.url(path) + f"?dry_run={dry_run}", body, format="json")
            assert response.status_code == 422, (path, body, dry_run, response.json())
            problem = response.json()
            assert problem["code"] == "validation_error" and field in {e["field"] for e in problem["errors"]}, problem
    assert _writes(mapped) == [] and Mutation.objects.count() == mutations


def test_a_dry_run_previews_the_write_that_then_goes_out_for_every_connector(
    any_mapped: Connected, any_customer_id: str
) -> None:
    """Vendor-neutral: the preview is the payload the real write then sends (as the audit trail recorded it on its
    way out) and the vendor saw no invoice call; the byte check against what the sandbox received is Exact's above."""
    mapped = any_mapped
    body = mapped.invoice_body(any_customer_id, reference="DRY-ANY")
    mapped.world.control.reset_counters()

    dry = mapped.client.post(mapped.url("invoices") + "?dry_run=true", body, format="json", HTTP_IDEMPOTENCY_KEY="k2")

    assert dry.status_code == 200, dry.json()
    preview = dry.json()
    assert preview["dry_run"] is True and preview["operation"] == "create"
    (request,) = preview["vendor_requests"]
    assert request["method"] == mapped.profile.invoice_create[0]
    assert request["path"].endswith(mapped.profile.invoice_path_part)
    assert json.loads(request["body_text"]) == request["body"]
    assert not any(mapped.profile.invoice_path_part in endpoint for endpoint in mapped.calls())
    assert mapped.invoices_with_reference("DRY-ANY") == 0
    assert not Mutation.objects.exists() and not AuditEvent.objects.exists() and not Event.objects.exists()

    real = mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert real.status_code == 201, real.json()
    assert mapped.invoices_with_reference("DRY-ANY") == 1
    assert AuditEvent.objects.get().vendor_payload == request["body_text"]
