"""Attachments over HTTP: raw uploads by file name, listing, download, replacement, the per-document cap."""

from __future__ import annotations

import httpx

from connectors.xero.sandbox.control_client import SandboxControl
from tests.connectors.xero.sandbox.conftest import SCOPES, Tenant, authorize, exchange_code


def _with_attachments(tenant: Tenant, http: httpx.Client) -> Tenant:
    code = authorize(http, tenant, scope=SCOPES + " accounting.attachments")
    tenant.tokens = exchange_code(http, tenant, code).json()
    return tenant


def _invoice(tenant: Tenant, http: httpx.Client, invoice_type: str = "ACCREC") -> dict:
    return http.put(
        tenant.api("Invoices"),
        headers=tenant.headers(),
        json={
            "Invoices": [
                {
                    "Type": invoice_type,
                    "Contact": {"Name": "Files Ltd"},
                    "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 5, "AccountCode": "200"}],
                }
            ]
        },
    ).json()["Invoices"][0]


def test_upload_list_download_and_replace(tenant: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    _with_attachments(tenant, http)
    invoice = _invoice(tenant, http)
    base = tenant.api(f"Invoices/{invoice['InvoiceID']}/Attachments")
    uploaded = http.put(
        f"{base}/receipt.pdf",
        params={"IncludeOnline": "true"},
        content=b"%PDF-1.4 first",
        headers={**tenant.headers(), "Content-Type": "application/pdf"},
    )
    assert uploaded.status_code == 200, uploaded.text
    attachment = uploaded.json()["Attachments"][0]
    assert (
        attachment["FileName"],
        attachment["MimeType"],
        attachment["ContentLength"],
        attachment["IncludeOnline"],
    ) == ("receipt.pdf", "application/pdf", 14, True)
    assert attachment["Url"] == f"{base}/receipt.pdf"
    # The same file name replaces the file and keeps its id.
    replaced = http.post(
        f"{base}/receipt.pdf",
        content=b"%PDF-1.4 second version",
        headers={**tenant.headers(), "Content-Type": "application/pdf"},
    ).json()["Attachments"][0]
    assert replaced["AttachmentID"] == attachment["AttachmentID"]
    listed = http.get(base + "/", headers=tenant.headers()).json()["Attachments"]
    assert [a["FileName"] for a in listed] == ["receipt.pdf"]
    download = http.get(f"{base}/{attachment['AttachmentID']}", headers=tenant.headers())
    assert (download.content, download.headers["Content-Type"]) == (b"%PDF-1.4 second version", "application/pdf")
    assert http.get(f"{base}/other.pdf", headers=tenant.headers()).status_code == 404
    assert (
        http.get(tenant.api(f"Invoices/{invoice['InvoiceID']}"), headers=tenant.headers()).json()["Invoices"][0][
            "HasAttachments"
        ]
        is True
    )


def test_attachment_rules(tenant: Tenant, http: httpx.Client) -> None:
    _with_attachments(tenant, http)
    bill = _invoice(tenant, http, "ACCPAY")
    base = tenant.api(f"Invoices/{bill['InvoiceID']}/Attachments")
    online = http.put(f"{base}/a.txt", params={"IncludeOnline": "true"}, content=b"x", headers=tenant.headers())
    assert (
        online.json()["Elements"][0]["ValidationErrors"][0]["Message"]
        == "IncludeOnline is only allowed on sales invoices and credit notes."
    )
    for index in range(10):
        assert http.put(f"{base}/f{index}.txt", content=b"x", headers=tenant.headers()).status_code == 200
    eleventh = http.put(f"{base}/f10.txt", content=b"x", headers=tenant.headers())
    assert eleventh.status_code == 400
    assert (
        http.put(tenant.api(f"Items/{'0' * 32}/Attachments/x.txt"), content=b"x", headers=tenant.headers()).status_code
        == 404
    )


def test_attachments_need_their_scope(connected: Tenant, http: httpx.Client) -> None:
    invoice = _invoice(connected, http)
    response = http.get(connected.api(f"Invoices/{invoice['InvoiceID']}/Attachments"), headers=connected.headers())
    assert (response.status_code, response.json()["Detail"]) == (401, "AuthorizationUnsuccessful")


def test_a_file_over_10_mb_is_refused_and_the_dump_shows_the_files(
    tenant: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    _with_attachments(tenant, http)
    bill = _invoice(tenant, http, "ACCPAY")
    base = tenant.api(f"Invoices/{bill['InvoiceID']}/Attachments")
    limit = 10 * 1024 * 1024
    too_big = http.put(f"{base}/big.pdf", content=b"%PDF" + b"0" * (limit - 3), headers=tenant.headers())
    assert too_big.status_code == 413
    assert too_big.json()["Type"] == "PostDataInvalidException"
    at_limit = http.put(f"{base}/ok.pdf", content=b"%PDF" + b"0" * (limit - 4), headers=tenant.headers())
    assert at_limit.status_code == 200, at_limit.text

    (stored,) = control.dump(tenant.tenant_id)["Attachments"]
    assert (stored["Endpoint"], stored["ParentID"], stored["FileName"], stored["ContentLength"]) == (
        "Invoices",
        bill["InvoiceID"],
        "ok.pdf",
        limit,
    )
    assert len(stored["Content"]) == 4 * ((limit + 2) // 3)  # base64 of the whole file
