"""documents/Documents and documents/DocumentAttachments in the sandbox: Exact's rules for a document linked to an
entry and for a file on it (connectors/exact/NOTES.md: Documents)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from connectors.exact.sandbox.control_client import SandboxControl
from connectors.exact.sandbox.server import SandboxServer
from tests.connectors.exact.sandbox.conftest import Tenant, authorize, exchange_code, make_tenant

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
MB = 1024 * 1024


def _post(http: httpx.Client, tenant: Tenant, path: str, body: Any) -> httpx.Response:
    headers = {**tenant.headers(), "Content-Type": "application/json", "Prefer": "return=representation"}
    return http.post(tenant.api_url(path), json=body, headers=headers)


def _message(response: httpx.Response) -> str:
    return str(response.json()["error"]["message"]["value"])


def _purchase_entry(http: httpx.Client, tenant: Tenant) -> tuple[str, str]:
    """(EntryID, Supplier) of a fresh purchase entry on G/L 4000 in journal 60."""
    supplier = _post(http, tenant, "crm/Accounts", {"Name": "Papier B.V.", "IsSupplier": True})
    assert supplier.status_code == 201, supplier.text
    supplier_id = supplier.json()["d"]["ID"]
    accounts = http.get(
        tenant.api_url("financial/GLAccounts"),
        params={"$filter": "Code eq '4000'", "$select": "ID"},
        headers=tenant.headers(),
    )
    gl_account = accounts.json()["d"]["results"][0]["ID"]
    body = {"Supplier": supplier_id, "Journal": "60", "PurchaseEntryLines": [{"GLAccount": gl_account, "AmountFC": 10}]}
    entry = _post(http, tenant, "purchaseentry/PurchaseEntries", body)
    assert entry.status_code == 201, entry.text
    return entry.json()["d"]["EntryID"], supplier_id


def _document(http: httpx.Client, tenant: Tenant, entry_id: str, **overrides: Any) -> httpx.Response:
    return _post(
        http,
        tenant,
        "documents/Documents",
        {"Subject": "Factuur papier", "Type": 20, "FinancialTransactionEntryID": entry_id, **overrides},
    )


def test_a_file_on_a_purchase_invoice_document(connected: Tenant, http: httpx.Client) -> None:
    entry_id, supplier = _purchase_entry(http, connected)
    document = _document(http, connected, entry_id, Account=supplier)
    assert document.status_code == 201, document.text
    assert document.json()["d"]["TypeDescription"] == "Inkoopfactuur"
    document_id = document.json()["d"]["ID"]

    attached = _post(
        http,
        connected,
        "documents/DocumentAttachments",
        {"Document": document_id, "FileName": "papier.pdf", "Attachment": base64.b64encode(PDF).decode()},
    )

    assert attached.status_code == 201, attached.text
    assert attached.json()["d"]["FileSize"] == len(PDF)
    listed = http.get(
        connected.api_url("documents/DocumentAttachments"),
        params={"$filter": f"Document eq guid'{document_id}'", "$select": "ID,FileName,Attachment"},
        headers=connected.headers(),
    )
    (row,) = listed.json()["d"]["results"]
    assert row["FileName"] == "papier.pdf" and base64.b64decode(row["Attachment"]) == PDF


@pytest.mark.parametrize(
    ("overrides", "status", "words"),
    [
        ({"Subject": None}, 400, "Verplicht: Onderwerp"),
        ({"Type": None}, 400, "Verplicht: Type"),
        ({"Type": 99}, 400, "Ongeldige waarde: Type"),
        # A purchase invoice document must name a purchase entry, not some other key.
        ({"FinancialTransactionEntryID": "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b"}, 500, "Ongeldige referentie"),
        ({"Account": "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b"}, 500, "Ongeldige referentie"),
    ],
    ids=["no-subject", "no-type", "unknown-type", "entry-elsewhere", "unknown-account"],
)
def test_documents_are_refused_like_exact_refuses_them(
    connected: Tenant, http: httpx.Client, overrides: dict[str, Any], status: int, words: str
) -> None:
    entry_id, _ = _purchase_entry(http, connected)
    response = _document(http, connected, entry_id, **overrides)
    assert response.status_code == status, response.text
    assert words in _message(response)


def test_a_sales_invoice_document_links_to_the_invoice_id_not_a_purchase_entry(
    connected: Tenant, http: httpx.Client
) -> None:
    entry_id, _ = _purchase_entry(http, connected)
    response = _document(http, connected, entry_id, Type=10)
    assert response.status_code == 500 and "Boeking" in _message(response)


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"FileName": "a.pdf", "Attachment": "JVBERi0="}, 400, "Verplicht: Document"),
        ({"Document": "DOC", "Attachment": "JVBERi0="}, 400, "Verplicht: Bestandsnaam"),
        ({"Document": "DOC", "FileName": "a.pdf"}, 400, "Verplicht: Bijlage"),
        # Raw bytes instead of base64 (picqer#178).
        ({"Document": "DOC", "FileName": "a.pdf", "Attachment": "%PDF-1.4 raw"}, 400, "to type 'Byte[]'"),
        (
            {"Document": "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b", "FileName": "a.pdf", "Attachment": "JVBERi0="},
            500,
            "Ongeldige referentie: Document",
        ),
    ],
    ids=["no-document", "no-file-name", "no-attachment", "not-base64", "unknown-document"],
)
def test_attachments_are_refused_like_exact_refuses_them(
    connected: Tenant, http: httpx.Client, body: dict[str, Any], status: int, words: str
) -> None:
    entry_id, _ = _purchase_entry(http, connected)
    document_id = _document(http, connected, entry_id).json()["d"]["ID"]
    body = {name: (document_id if value == "DOC" else value) for name, value in body.items()}
    response = _post(http, connected, "documents/DocumentAttachments", body)
    assert response.status_code == status, response.text
    assert words in _message(response)


def test_the_10_mb_limit_counts_the_file_not_its_base64_text(connected: Tenant, http: httpx.Client) -> None:
    entry_id, _ = _purchase_entry(http, connected)
    document_id = _document(http, connected, entry_id).json()["d"]["ID"]

    def attach(size: int) -> httpx.Response:
        content = PDF + b"0" * (size - len(PDF))
        body = {"Document": document_id, "FileName": "big.pdf", "Attachment": base64.b64encode(content).decode()}
        return _post(http, connected, "documents/DocumentAttachments", body)

    # 10 MB of file is 13.3 MB of base64: over the 10 MB a plain body may have, yet accepted (KB Restrictions).
    assert attach(10 * MB).status_code == 201
    over = attach(10 * MB + 1)
    assert over.status_code == 400 and "10 MB" in _message(over)


def test_outside_nl_and_be_the_message_limit_caps_the_file(
    control: SandboxControl, server: SandboxServer, http: httpx.Client
) -> None:
    tenant = make_tenant(control, server, region="uk", divisions=(200001,), username="uk-user")
    tenant.tokens = exchange_code(http, tenant, authorize(http, tenant)).json()
    entry_id, _ = _purchase_entry(http, tenant)
    document_id = _document(http, tenant, entry_id).json()["d"]["ID"]
    # 8 MB of file: 10.7 MB of base64, over the 9.5 MB REST message length outside NL and BE (KB Restrictions).
    content = PDF + b"0" * (8 * MB)
    body = {"Document": document_id, "FileName": "big.pdf", "Attachment": base64.b64encode(content).decode()}
    response = _post(http, tenant, "documents/DocumentAttachments", body)
    assert response.status_code == 413 and "9.5 MB" in _message(response)


def test_deleting_a_document_deletes_its_attachments(connected: Tenant, http: httpx.Client) -> None:
    entry_id, _ = _purchase_entry(http, connected)
    document_id = _document(http, connected, entry_id).json()["d"]["ID"]
    body = {"Document": document_id, "FileName": "a.pdf", "Attachment": base64.b64encode(PDF).decode()}
    assert _post(http, connected, "documents/DocumentAttachments", body).status_code == 201

    deleted = http.delete(connected.api_url(f"documents/Documents(guid'{document_id}')"), headers=connected.headers())

    assert deleted.status_code == 204
    left = http.get(
        connected.api_url("documents/DocumentAttachments"),
        params={"$filter": f"Document eq guid'{document_id}'", "$select": "ID"},
        headers=connected.headers(),
    )
    assert left.json()["d"]["results"] == []
