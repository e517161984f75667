"""Files on sales invoices, bills and their credit notes: Xero's Attachments under the document's own endpoint.

Facts followed (NOTES.md: Attachments):
- A file is the raw body of `PUT /{Invoices|CreditNotes}/{id}/Attachments/{FileName}` with its media type as
  Content-Type; the answer is `{"Attachments": [{AttachmentID, FileName, Url, MimeType, ContentLength,
  IncludeOnline}]}`. `GET …/Attachments` lists them, `GET …/Attachments/{AttachmentID}` is the file (asked for by
  its media type). The scope is `accounting.attachments`.
- At most 10 files per document; 10 MB a file (10 MB or 25 MB in Xero's pages: the stricter one is kept).
- Uploading under a file name the document already has replaces that file.

What the connector does with this:
- The unified record is found first (one read; a credit note after a miss among the invoices), so an id of the
  other side (a bill among the sales invoices) or an unknown one is 404 before anything is written.
- The document's files are listed before an upload: a name already used is refused naming `file` (the unified
  POST adds a file; Xero would silently replace the other one), and an 11th file too, both before the PUT.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from connectors.base.connector import AttachmentRules
from connectors.base.data import Resource
from connectors.base.errors import VendorError, VendorNotFound
from connectors.base.records import Attachment, AttachmentContent, AttachmentInput, InvalidInput
from connectors.xero import purchases
from connectors.xero.calls import TenantApi
from connectors.xero.values import clean_text, parse_guid

MB = 1024 * 1024
MAX_FILE_BYTES = 10 * MB
MAX_FILES = 10
KEY = "Attachments"

ATTACHMENT_RULES = AttachmentRules(
    max_bytes=MAX_FILE_BYTES,
    # Xero takes office documents, images, PDFs, archives (NOTES.md: Attachments); the gateway passes on the ones it
    # recognises by their content: PDF and images.
    content_types=frozenset({"application/pdf", "image/jpeg", "image/png", "image/gif", "image/tiff"}),
)


class _Side:
    """Where a unified resource's documents live in Xero: the invoice type, and the credit note type."""

    def __init__(self, invoice_type: str, credit_note_type: str) -> None:
        self.invoice_type = invoice_type
        self.credit_note_type = credit_note_type


SIDES: Mapping[Resource, _Side] = {
    Resource.INVOICES: _Side("ACCREC", "ACCRECCREDIT"),
    Resource.PURCHASE_INVOICES: _Side(purchases.BILLS.split('"')[1], purchases.PURCHASE_CREDIT_NOTES.split('"')[1]),
}


def _document(api: TenantApi, resource: Resource, record_id: str) -> str:
    """`{Invoices|CreditNotes}/{id}` of the unified record; VendorNotFound when it is none of this resource."""
    side = SIDES[resource]
    not_found = VendorNotFound(f"No {resource.value} record '{record_id}'.", status=404)
    guid = parse_guid(str(record_id))
    if guid is None:
        raise not_found  # Xero ids are GUIDs: anything else never reaches the URL
    for path, key, wanted in (
        ("Invoices", "Invoices", side.invoice_type),
        ("CreditNotes", "CreditNotes", side.credit_note_type),
    ):
        try:
            rows = api.records(f"{path}/{guid}", key)
        except VendorNotFound:
            continue
        if any(row.get("Type") == wanted for row in rows):
            return f"{path}/{guid}"
        if path == "Invoices" and rows:
            raise not_found  # an invoice of the other side (a bill among the sales invoices, or the reverse)
    raise not_found


def attachment_from_xero(row: Mapping[str, Any], record_id: str) -> Attachment:
    attachment_id = parse_guid(str(row.get("AttachmentID") or ""))
    if attachment_id is None:
        raise VendorError("Xero listed an attachment without an AttachmentID.")
    size = row.get("ContentLength")
    return Attachment(
        id=attachment_id,
        remote_id=attachment_id,
        record_id=record_id,
        file_name=clean_text(row.get("FileName")) or attachment_id,
        content_type=clean_text(row.get("MimeType")) or "application/octet-stream",
        size=int(size) if isinstance(size, int | float) else None,
        remote_data=dict(row),
    )


def _files(api: TenantApi, document: str) -> list[dict[str, Any]]:
    return api.records(f"{document}/{KEY}", KEY)


def create(api: TenantApi, resource: Resource, record_id: str, data: AttachmentInput) -> Attachment:
    """The document (one or two reads), its files (one read), then the upload (one PUT)."""
    document = _document(api, resource, record_id)
    files = _files(api, document)
    wanted = data.file_name.strip().lower()
    if any(str(row.get("FileName") or "").strip().lower() == wanted for row in files):
        raise InvalidInput(
            "file",
            f"The record already has a file named '{data.file_name}'; Xero would replace it. Give the file another "
            "name.",
        )
    if len(files) >= MAX_FILES:
        raise InvalidInput("file", f"Xero keeps at most {MAX_FILES} files per document; this one has {len(files)}.")
    path = f"{document}/{KEY}/{quote(data.file_name, safe='')}"
    (row,) = api.write("PUT", path, None, KEY, file=(data.content, data.content_type))[:1]
    attachment = attachment_from_xero(row, record_id)
    api.ctx.record_created(attachment.remote_id)  # the file landed: its id goes with the write (and its audit row)
    return attachment


def list_for(api: TenantApi, resource: Resource, record_id: str) -> list[Attachment]:
    document = _document(api, resource, record_id)
    return [attachment_from_xero(row, record_id) for row in _files(api, document)]


def content(api: TenantApi, resource: Resource, record_id: str, attachment_id: str) -> AttachmentContent:
    """The file of one of the record's attachments (found in the record's list first, so another record's id is
    404)."""
    document = _document(api, resource, record_id)
    wanted = parse_guid(str(attachment_id))
    match = next(
        (row for row in _files(api, document) if wanted and parse_guid(str(row.get("AttachmentID") or "")) == wanted),
        None,
    )
    if match is None:
        raise VendorNotFound(f"No attachment '{attachment_id}' on {resource.value} record '{record_id}'.", status=404)
    attachment = attachment_from_xero(match, record_id)
    response = api.download(f"{document}/{KEY}/{attachment.remote_id}", attachment.content_type)
    return AttachmentContent(
        file_name=attachment.file_name, content_type=attachment.content_type, content=response.content
    )
