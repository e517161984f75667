"""A client generated from our OpenAPI schema (openapi-python-client) creates an invoice against a live gateway
whose connection points at a vendor sandbox (every connector: `any_mapped`), and a purchase invoice with a PDF
attached, against every connector too."""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.unified_models.conftest import Connected
from tests.unified_models.test_api_attachments import _stored_files
from tests.unified_models.test_api_purchase_invoices import VENDOR_BILLS, _ledger_account, _supplier

pytestmark = pytest.mark.django_db(transaction=True)

VENV_BIN = Path(sys.executable).parent


def _generate_client(tmp_path: Path) -> str:
    """Write the schema, generate the client package `ledgerbridge_client` from it, make it importable."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema, default=str))
    output = tmp_path / "ledgerbridge_client"
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [
            str(VENV_BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(schema_file),
            "--output-path",
            str(output),
            "--meta",
            "none",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (output / "api" / "invoices" / "invoices_create.py").exists(), result.stdout
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    return "ledgerbridge_client"


def _vendor_code(mapped: Connected, **rule: str) -> str:
    (match,) = [row for row in mapped.profile.mapping["tax_rates"] if all(row.get(k) == v for k, v in rule.items())]
    return str(match["vendor_code"])


def test_a_generated_client_creates_an_invoice(
    any_mapped: Connected, any_customer_id: str, api_key, live_server, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    mapped, first_customer_id = any_mapped, any_customer_id
    standard, reduced = mapped.rates
    cents = Decimal("0.01")
    # 2 x 100.00 at the standard rate, 39.95 at the reduced rate, 50 at 0 %: Exact 335.55, Xero 331.95.
    total = (
        (Decimal("200.00") * (100 + Decimal(standard)) / 100).quantize(cents, rounding=ROUND_HALF_UP)
        + (Decimal("39.95") * (100 + Decimal(reduced)) / 100).quantize(cents, rounding=ROUND_HALF_UP)
        + Decimal("50.00")
    )
    if mapped.connector_id == "exact":  # the figure this test always pinned for Exact
        assert total == Decimal("335.55")
    tax_rate_ids = [
        _vendor_code(mapped, rate=standard),
        _vendor_code(mapped, rate=reduced),
        _vendor_code(mapped, code="zero"),
    ]
    package = _generate_client(tmp_path)
    try:
        client_module = importlib.import_module(f"{package}.client")
        create = importlib.import_module(f"{package}.api.invoices.invoices_create")
        retrieve = importlib.import_module(f"{package}.api.invoices.invoices_retrieve")
        models = importlib.import_module(f"{package}.models")

        client = client_module.AuthenticatedClient(base_url=live_server.url, token=api_key.secret)
        body = models.InvoiceCreateRequest(
            contact_id=first_customer_id,
            reference="GENERATED-1",
            lines=[
                models.InvoiceLineInputRequest(
                    description="Consultancy", quantity="2", unit_price="100.00", tax_rate=standard
                ),
                models.InvoiceLineInputRequest(
                    description="Handbook", quantity="1", unit_price="39.95", tax_rate=reduced
                ),
                models.InvoiceLineInputRequest(description="Export", quantity="1", unit_price="50", tax_code="zero"),
            ],
        )
        response = create.sync_detailed(
            connection_id=mapped.connection.pk, client=client, body=body, idempotency_key="generated-client-1"
        )

        assert response.status_code == 201, response.content
        invoice = response.parsed
        assert isinstance(invoice, models.InvoiceWriteResponse)
        assert invoice.total == str(total) and invoice.reference == "GENERATED-1"
        assert invoice.status == models.InvoiceStatus.OPEN
        assert [line.tax_rate_id for line in invoice.lines] == tax_rate_ids
        assert response.headers["Idempotent-Replayed"] == "false"

        fetched = retrieve.sync(connection_id=mapped.connection.pk, record_id=invoice.id, client=client)
        assert isinstance(fetched, models.Invoice) and fetched.remote_id == invoice.remote_id
        assert mapped.invoices_with_reference("GENERATED-1") == 1

        refused = create.sync_detailed(
            connection_id=mapped.connection.pk,
            client=client,
            body=models.InvoiceCreateRequest(contact_id=first_customer_id, lines=[]),
        )
        assert refused.status_code == 422
        assert isinstance(refused.parsed, models.Problem) and refused.parsed.code == "validation_error"
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name == package or name.startswith(f"{package}.")]:
            del sys.modules[name]


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_generated_client_creates_a_purchase_invoice_with_an_attachment(
    any_mapped: Connected, api_key, live_server, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    mapped = any_mapped
    supplier, costs = _supplier(mapped), _ledger_account(mapped, VENDOR_BILLS[mapped.connector_id][0])
    package = _generate_client(tmp_path)
    try:
        client_module = importlib.import_module(f"{package}.client")
        create = importlib.import_module(f"{package}.api.purchase_invoices.purchase_invoices_create")
        attach = importlib.import_module(f"{package}.api.purchase_invoices.purchase_invoices_attachments_create")
        listing = importlib.import_module(f"{package}.api.purchase_invoices.purchase_invoices_attachments_list")
        download = importlib.import_module(f"{package}.api.purchase_invoices.purchase_invoices_attachments_content")
        models = importlib.import_module(f"{package}.models")
        types = importlib.import_module(f"{package}.types")
        client = client_module.AuthenticatedClient(base_url=live_server.url, token=api_key.secret)

        created = create.sync_detailed(
            connection_id=mapped.connection.pk,
            client=client,
            body=models.PurchaseInvoiceCreateRequest(
                contact_id=supplier,
                number="GEN-INV-7",
                lines=[
                    models.PurchaseInvoiceLineInputRequest(
                        ledger_account_id=costs, net_amount="80.00", description="Office supplies"
                    )
                ],
            ),
            idempotency_key="generated-bill-1",
        )
        assert created.status_code == 201, created.content
        bill = created.parsed
        assert isinstance(bill, models.PurchaseInvoiceWriteResponse) and bill.number == "GEN-INV-7"

        upload = types.File(payload=io.BytesIO(PDF), file_name="GEN-INV-7.pdf", mime_type="application/pdf")
        attached = attach.sync_detailed(
            connection_id=mapped.connection.pk,
            record_id=bill.id,
            client=client,
            body=models.AttachmentUploadRequest(file=upload),
        )

        assert attached.status_code == 201, attached.content
        attachment = attached.parsed
        assert isinstance(attachment, models.Attached) and attachment.mutation_id  # the write, as every write's
        assert (attachment.file_name, attachment.content_type, attachment.size) == (
            "GEN-INV-7.pdf",
            "application/pdf",
            len(PDF),
        )
        # At the vendor: Exact's document linked to the entry, Xero's attachment of the bill, with the same bytes.
        (stored,) = _stored_files(mapped)
        assert (stored["parent"], stored["content"]) == (bill.remote_id, PDF)
        page = listing.sync(connection_id=mapped.connection.pk, record_id=bill.id, client=client)
        assert isinstance(page, models.AttachmentPage) and [a.id for a in page.results] == [attachment.id]
        file = download.sync(
            connection_id=mapped.connection.pk, record_id=bill.id, attachment_id=attachment.id, client=client
        )
        assert isinstance(file, types.File) and file.payload.read() == PDF

        refused = attach.sync_detailed(
            connection_id=mapped.connection.pk,
            record_id=bill.id,
            client=client,
            body=models.AttachmentUploadRequest(
                file=types.File(payload=io.BytesIO(b"plain text"), file_name="notes.txt", mime_type="text/plain")
            ),
        )
        assert refused.status_code == 422
        assert isinstance(refused.parsed, models.Problem) and refused.parsed.code == "invalid_input"
        assert len(_stored_files(mapped)) == 1
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name == package or name.startswith(f"{package}.")]:
            del sys.modules[name]


def test_the_schema_documents_every_data_operation() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = {
        path: item for path, item in schema["paths"].items() if path.startswith("/api/v1/connections/{connection_id}/")
    }
    resources = ["contacts", "invoices", "ledger-accounts", "tax-rates", "journals", "items", "payments"]
    for resource in resources:
        listing = paths[f"/api/v1/connections/{{connection_id}}/{resource}"]["get"]
        assert {p["name"] for p in listing["parameters"]} >= {"cursor", "page_size", "updated_after", "include"}
        assert listing["responses"]["200"]["content"]["application/json"]["examples"], resource
        retrieve = paths[f"/api/v1/connections/{{connection_id}}/{resource}/{{record_id}}"]["get"]
        assert retrieve["responses"]["200"]["content"]["application/json"]["examples"], resource
    writes = [
        (f"/api/v1/connections/{{connection_id}}/{suffix}", method)
        for suffix, method in [
            ("contacts", "post"),
            ("contacts/{record_id}", "patch"),
            ("invoices", "post"),
            ("invoices/{record_id}", "patch"),
            ("invoices/{record_id}/finalize", "post"),
            ("items", "post"),
            ("mapping", "put"),
            ("passthrough", "post"),
        ]
    ]
    for path, method in writes:
        operation = paths[path][method]
        assert "Idempotency-Key" in {p["name"] for p in operation["parameters"]}, path
        assert "examples" in next(
            iter(operation.get("requestBody", {"content": {"x": {"examples": 1}}})["content"].values())
        )
        assert {"404", "409", "422"} <= set(operation["responses"]), path
        problem = operation["responses"]["422"]["content"]["application/problem+json"]["schema"]
        assert problem == {"$ref": "#/components/schemas/Problem"}
    invoice_create = paths["/api/v1/connections/{connection_id}/invoices"]["post"]["responses"]
    examples = invoice_create["422"]["content"]["application/problem+json"]["examples"]
    assert {example["value"]["code"] for example in examples.values()} == {
        "mapping_missing",
        "vendor_validation_failed",
    }
    assert "mapping_missing" in invoice_create["422"]["description"]
    components = schema["components"]["schemas"]
    assert components["InvoiceStatus"]["enum"] == ["draft", "open", "paid", "partially_paid", "void"]
    assert components["RecordStatus"]["enum"] == ["active", "archived"]
    for enum in (
        "InvoiceType",
        "PaymentStatus",
        "LedgerClassification",
        "TaxType",
        "TaxUsage",
        "JournalType",
        "AddressType",
    ):
        assert components[enum]["enum"], enum
    invoice = components["Invoice"]["properties"]
    assert {"net_total", "tax_total", "total", "currency", "lines", "finalized"} <= set(invoice)
    assert invoice["total"] == {"type": "string", "format": "decimal", "example": "121.00"}
    assert "remote_data" not in components["Invoice"].get("required", [])
    assert "warnings" in components["InvoiceWriteResponse"]["properties"]
