"""Attachments of purchase and sales invoices as Exact documents: documents/Documents + documents/DocumentAttachments.

Facts followed (NOTES.md: Documents):
- A file hangs off a document: POST documents/Documents (Subject and Type required; Type 20 purchase invoice, 10 sales
  invoice) linked to the entry through FinancialTransactionEntryID (a purchase entry's EntryID; for a sales invoice
  document its InvoiceID), then POST documents/DocumentAttachments with Document, FileName and Attachment, the
  file as base64 text.
- A POST may be at most 10 MB, counted on the file, not on its base64 text; the whole message is bounded by the REST
  message length (38 MB in NL and BE, 9.5 MB elsewhere), which caps a file at about 7 MB outside NL and BE.
- The attachments of an entry: its documents by FinancialTransactionEntryID, their attachments by Document.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
from collections.abc import Mapping
from typing import Any

from connectors.base.connector import AttachmentRules
from connectors.base.data import Resource
from connectors.base.errors import VendorError, VendorNotFound
from connectors.base.records import Attachment, AttachmentContent, AttachmentInput
from connectors.exact.calls import DivisionApi
from connectors.exact.odata import Guid, ODataQuery, and_, eq, or_
from connectors.exact.resources import parse_guid
from connectors.exact.values import clean_text

DOCUMENTS = "documents/Documents"
ATTACHMENTS = "documents/DocumentAttachments"
# Document types an API client may create (NOTES.md: Documents).
PURCHASE_INVOICE_DOCUMENT = 20
SALES_INVOICE_DOCUMENT = 10

MB = 1024 * 1024
MAX_FILE_BYTES = 10 * MB  # KB Restrictions: 10 MB per POST, the binary's own size
# The REST message (the JSON with the base64 text, 4/3 of the file) may be 38 MB in NL and BE, 9.5 MB elsewhere.
MAX_MESSAGE_BYTES_ELSEWHERE = int(9.5 * MB)
# Room for the JSON around the base64 text (the property names, the file name, the document key).
_ENVELOPE_BYTES = 4096


def _file_limit(message_bytes: int) -> int:
    return min(MAX_FILE_BYTES, (message_bytes - _ENVELOPE_BYTES) // 4 * 3)


ATTACHMENT_RULES = AttachmentRules(
    max_bytes=_file_limit(MAX_MESSAGE_BYTES_ELSEWHERE),
    max_bytes_by_region={"nl": MAX_FILE_BYTES, "be": MAX_FILE_BYTES},
    # What Exact shows and serves in its document viewer: PDF and images, XML for e-invoices (NOTES.md: Documents).
    content_types=frozenset(
        {"application/pdf", "image/jpeg", "image/png", "image/gif", "image/tiff", "application/xml", "text/xml"}
    ),
)


class _Entry:
    """The Exact entry a unified invoice is, and what its documents carry."""

    def __init__(self, *, path: str, key_field: str, party_field: str, document_type: int) -> None:
        self.path = path
        self.key_field = key_field
        self.party_field = party_field
        self.document_type = document_type


ENTRIES: Mapping[Resource, _Entry] = {
    Resource.PURCHASE_INVOICES: _Entry(
        path="purchaseentry/PurchaseEntries",
        key_field="EntryID",
        party_field="Supplier",
        document_type=PURCHASE_INVOICE_DOCUMENT,
    ),
    Resource.INVOICES: _Entry(
        path="salesinvoice/SalesInvoices",
        key_field="InvoiceID",
        party_field="InvoiceTo",
        document_type=SALES_INVOICE_DOCUMENT,
    ),
}
ATTACHMENT_FIELDS = ("ID", "Document", "FileName", "FileSize")


def _entry_row(api: DivisionApi, resource: Resource, record_id: str) -> tuple[str, dict[str, Any]]:
    """The entry's GUID and its key and party fields; VendorNotFound when the division has no such entry."""
    entry = ENTRIES[resource]
    guid = parse_guid(record_id)
    if guid is None:
        raise VendorNotFound(f"No {resource.value} record '{record_id}'.")
    row = api.entity(f"{entry.path}(guid'{guid}')", ODataQuery(select=(entry.key_field, entry.party_field)))
    return guid, row


def attachment_from_exact(row: Mapping[str, Any], record_id: str) -> Attachment:
    file_name = clean_text(row.get("FileName")) or ""
    size = row.get("FileSize")
    remote_id = str(row.get("ID") or "")
    return Attachment(
        id=remote_id,
        remote_id=remote_id,
        record_id=record_id,
        file_name=file_name,
        content_type=content_type_of(file_name),
        size=int(size) if isinstance(size, int | float) else None,
        remote_data=dict(row),
    )


def content_type_of(file_name: str) -> str:
    """Exact keeps no media type, only the file name: the type follows from its extension."""
    guessed, _ = mimetypes.guess_type(file_name, strict=False)
    return guessed or "application/octet-stream"


def create(api: DivisionApi, resource: Resource, record_id: str, data: AttachmentInput) -> Attachment:
    """One document of the entry's type linked to the entry, then the file on it (two POSTs after one read)."""
    entry = ENTRIES[resource]
    guid, row = _entry_row(api, resource, record_id)
    document: dict[str, Any] = {
        "Subject": data.file_name[:200],
        "Type": entry.document_type,
        "FinancialTransactionEntryID": guid,
    }
    party = parse_guid(str(row.get(entry.party_field) or ""))
    if party is not None:
        document["Account"] = party
    # A resent upload whose Documents POST landed before (its file did not) finishes that document instead of
    # leaving it empty beside a second one.
    document_id = _document_without_file(api, guid, document) if data.resend else None
    if document_id is None:
        created = api.post(DOCUMENTS, document)
        document_id = parse_guid(str(created.get("ID") or ""))
        if document_id is None:
            raise VendorError("Exact created the document but did not return its ID.")
    body = {
        "Document": document_id,
        "FileName": data.file_name,
        "Attachment": base64.b64encode(data.content).decode("ascii"),
    }
    attached = api.post(ATTACHMENTS, body)
    attachment_id = parse_guid(str(attached.get("ID") or ""))
    if attachment_id is None:
        raise VendorError("Exact stored the attachment but did not return its ID.")
    api.ctx.record_created(attachment_id)  # the file landed: its id goes with the write (and its audit row) at once
    return attachment_from_exact(
        {"ID": attachment_id, "Document": document_id, "FileName": data.file_name, "FileSize": len(data.content)},
        record_id,
    )


def _document_without_file(api: DivisionApi, guid: str, document: Mapping[str, Any]) -> str | None:
    """A document of the entry with this subject and type that has no attachment (one or two reads), or None."""
    query = ODataQuery(
        select=("ID",),
        filter=and_(
            eq("FinancialTransactionEntryID", Guid(guid)),
            eq("Subject", document["Subject"]),
            eq("Type", document["Type"]),
        ),
    )
    candidates = [str(row["ID"]) for row in api.records(DOCUMENTS, query) if row.get("ID")]
    if not candidates:
        return None
    files = ODataQuery(select=("Document",), filter=or_(*(eq("Document", Guid(doc)) for doc in candidates)))
    with_files = {str(row.get("Document") or "") for row in api.records(ATTACHMENTS, files)}
    return next((doc for doc in candidates if doc not in with_files), None)


def _document_ids(api: DivisionApi, guid: str) -> list[str]:
    query = ODataQuery(select=("ID",), filter=eq("FinancialTransactionEntryID", Guid(guid)))
    return [str(row["ID"]) for row in api.records(DOCUMENTS, query) if row.get("ID")]


def list_for(api: DivisionApi, resource: Resource, record_id: str) -> list[Attachment]:
    """The attachments of every document linked to the entry (one read for the documents, one for their files)."""
    guid, _ = _entry_row(api, resource, record_id)
    documents = _document_ids(api, guid)
    if not documents:
        return []
    query = ODataQuery(select=ATTACHMENT_FIELDS, filter=or_(*(eq("Document", Guid(doc)) for doc in documents)))
    return [attachment_from_exact(row, record_id) for row in api.records(ATTACHMENTS, query)]


def content(api: DivisionApi, resource: Resource, record_id: str, attachment_id: str) -> AttachmentContent:
    """The file of one attachment of the entry; VendorNotFound for one that belongs to another record."""
    guid, _ = _entry_row(api, resource, record_id)
    attachment = parse_guid(attachment_id)
    if attachment is None:
        raise VendorNotFound(f"No attachment '{attachment_id}'.")
    query = ODataQuery(select=("ID", "Document", "FileName", "Attachment"))
    row = api.entity(f"{ATTACHMENTS}(guid'{attachment}')", query)
    if str(row.get("Document") or "") not in _document_ids(api, guid):
        raise VendorNotFound(f"No attachment '{attachment_id}' on {resource.value} record '{record_id}'.")
    try:
        data = base64.b64decode(str(row.get("Attachment") or ""), validate=True)
    except (ValueError, binascii.Error):
        raise VendorError("Exact answered an attachment that is not base64.") from None
    file_name = clean_text(row.get("FileName")) or attachment
    return AttachmentContent(file_name=file_name, content_type=content_type_of(file_name), content=data)
