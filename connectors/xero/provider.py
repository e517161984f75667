"""The Xero connector: app registration, capabilities, organisations, and the data half of the contract.

Auth lives in auth.py, HTTP in client.py (one connection's calls in calls.py), the budget in ratelimit.py, paging
in paging.py, the translation both ways in mappers.py, the mapping check in lookups.py and webhook signatures in
webhooks.py. Every Accounting API request goes through `calls.TenantApi`, i.e. through the core's CallContext.

Decisions:
- Xero has one home (no regions): the connect flow has no region step and connections store region "".
- A company is a Xero organisation, found through `GET /connections` after consent (tenantType ORGANISATION).
- Lists are in Xero's own order, one Xero page per unified page (paging.py). `updated_after` is sent as
  `If-Modified-Since` and rows at or before the instant are dropped here, so "after" is strict; Xero's tax rates
  have no modification time and are all returned.
- Invoices are Xero's sales invoices (`Type=="ACCREC"`); bills (ACCPAY) are purchase invoices (purchases.py).
  Payments are the payment state of approved sales invoices (mappers.py); journals do not exist in Xero.
- Writes map first and raise MappingMissing/InvalidInput before any call, carry an Idempotency-Key (calls.py),
  report the created id at once (`ctx.record_created`), and answer with the record as Xero returned it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from django.conf import settings

from connectors.base.connector import AuthKind, CompanyNoun, ConnectorInfo, OAuth2Connector, Operation, TokenTiming
from connectors.base.data import (
    CallContext,
    ListQuery,
    OperationNotSupported,
    Page,
    PassthroughDenied,
    PassthroughResult,
    Resource,
    SyncBatch,
    WriteResult,
)
from connectors.base.errors import VendorError, VendorNotFound
from connectors.base.inbound import InboundDelivery
from connectors.base.mapping import LedgerMapping
from connectors.base.records import (
    Attachment,
    AttachmentContent,
    AttachmentInput,
    ContactInput,
    InvalidInput,
    InvoiceInput,
    InvoiceStatus,
    InvoiceType,
    InvoiceUpdate,
    ItemInput,
    JournalEntryInput,
    PurchaseInvoiceInput,
)
from connectors.base.types import AppCredentials, Company, TokenSet, VendorUser
from connectors.xero import attachments, auth, company, journal_entries, lookups, mappers, purchases, sync, webhooks
from connectors.xero.calls import TenantApi
from connectors.xero.client import XeroClient, XeroHosts, raise_only_for_call_errors
from connectors.xero.paging import check_page_size, decode_cursor, decode_cursor_part, encode_cursor, page_window
from connectors.xero.values import (
    clean_text,
    format_xero_date,
    parse_guid,
    parse_xero_date,
    parse_xero_datetime,
    to_money,
)

_READ = frozenset({Operation.LIST, Operation.RETRIEVE})
_READ_WRITE = frozenset({Operation.LIST, Operation.RETRIEVE, Operation.CREATE, Operation.UPDATE})
_READ_CREATE = frozenset({Operation.LIST, Operation.RETRIEVE, Operation.CREATE})

SALES_INVOICES = 'Type=="ACCREC"'
# Resources whose lists go on with the credit notes Xero keeps apart, and the CreditNotes filter of each.
CREDIT_NOTES = MappingProxyType(
    {Resource.INVOICES: 'Type=="ACCRECCREDIT"', Resource.PURCHASE_INVOICES: purchases.PURCHASE_CREDIT_NOTES}
)
# Resources Xero pages (pages of 100 with `page`): NOTES.md: Paging.
_PAGED = frozenset(
    {Resource.CONTACTS, Resource.INVOICES, Resource.PAYMENTS, Resource.PURCHASE_INVOICES, Resource.JOURNAL_ENTRIES}
)
# A TaxType code: capitals, digits and underscores ("OUTPUT2", "TAX001", "ZERORATEDOUTPUT").
_TAX_TYPE_RE = re.compile(r"[A-Z0-9_]{1,40}")
# Paths passthrough may reach: the Accounting API of the connection's organisation, nothing else.
_PASSTHROUGH_PATH_RE = re.compile(r"[A-Za-z]+(/[A-Za-z0-9._-]+)*/?")


class XeroConnector(OAuth2Connector):
    # Xero's users call a set of books an "organisation"; refresh tokens rotate on every refresh (NOTES.md: OAuth).
    info = ConnectorInfo(
        id="xero",
        display_name="Xero",
        company_noun=CompanyNoun(singular="organisation", plural="organisations"),
        auth=AuthKind.OAUTH2_ROTATING,
    )
    capabilities = MappingProxyType(
        {
            Resource.CONTACTS.value: _READ_WRITE,
            Resource.INVOICES.value: _READ_WRITE,
            Resource.LEDGER_ACCOUNTS.value: _READ,
            Resource.TAX_RATES.value: _READ,
            Resource.ITEMS.value: _READ_CREATE,
            Resource.PAYMENTS.value: _READ,
            Resource.PURCHASE_INVOICES.value: _READ_CREATE,
            Resource.JOURNAL_ENTRIES.value: _READ_CREATE,
            # Not declared (405 operation_not_supported): journals, sales orders, and projects and time entries,
            # which Xero keeps outside the Accounting API, in its Projects API (NOTES.md "Scope of the unified model").
        }
    )
    list_filters = MappingProxyType(
        {
            Resource.INVOICES.value: frozenset({"contact_id"}),
            Resource.PAYMENTS.value: frozenset({"contact_id"}),
            Resource.PURCHASE_INVOICES.value: frozenset({"contact_id"}),
        }
    )
    # Files on sales invoices, bills and their credit notes (attachments.py; NOTES.md: Attachments).
    attachment_resources = frozenset(resource.value for resource in attachments.SIDES)
    attachment_rules = attachments.ATTACHMENT_RULES

    @property
    def hosts(self) -> XeroHosts:
        return XeroHosts.from_settings()

    # ===================================================================================== auth

    def default_app(self) -> AppCredentials | None:
        if not settings.XERO_CLIENT_ID:
            return None
        return AppCredentials(
            client_id=settings.XERO_CLIENT_ID,
            client_secret=settings.XERO_CLIENT_SECRET,
            webhook_secret=settings.XERO_WEBHOOK_SECRET,
        )

    def authorization_url(self, *, region: str, app: AppCredentials, redirect_uri: str, state: str) -> str:
        return auth.authorization_url(hosts=self.hosts, app=app, redirect_uri=redirect_uri, state=state)

    def exchange_code(self, *, region: str, app: AppCredentials, code: str, redirect_uri: str) -> TokenSet:
        return auth.exchange_code(hosts=self.hosts, app=app, code=code, redirect_uri=redirect_uri)

    def refresh_tokens(self, *, region: str, app: AppCredentials, refresh_token: str) -> TokenSet:
        return auth.refresh_tokens(hosts=self.hosts, app=app, refresh_token=refresh_token)

    def token_timing(self) -> TokenTiming:
        return auth.token_timing()

    def current_user(self, *, region: str, access_token: str) -> VendorUser:
        return auth.current_user(access_token)

    def list_companies(self, *, region: str, access_token: str, hint_company_id: str | None) -> list[Company]:
        rows = XeroClient(hosts=self.hosts).connections(access_token=access_token)
        companies: dict[str, Company] = {}
        for row in rows:
            # Practice (XPM) tenants have no Accounting API: only organisations are books (NOTES.md: Connections).
            if row.get("tenantType") != "ORGANISATION" or not row.get("tenantId"):
                continue
            tenant_id = str(row["tenantId"])
            companies[tenant_id] = Company(company_id=tenant_id, name=str(row.get("tenantName") or tenant_id))
        return list(companies.values())

    # ===================================================================================== reads

    def list_records(self, ctx: CallContext, resource: Resource, query: ListQuery) -> Page[Any]:
        resource = Resource(resource)
        if not self.supports(resource.value, Operation.LIST):
            raise OperationNotSupported(resource.value, Operation.LIST, self.name)
        check_page_size(query.page_size)
        if query.updated_after is not None and query.updated_after.tzinfo is None:
            raise InvalidInput("updated_after", "Give a time zone (e.g. 2025-01-31T10:00:00Z).")
        for name in query.filters:
            if name not in self.list_filters.get(resource.value, frozenset()):
                raise InvalidInput(name, f"{resource.value} cannot be filtered by {name}.")
        api = TenantApi(ctx)
        next_cursor: str | None = None
        if resource in CREDIT_NOTES:
            # Invoices first, then the credit notes Xero keeps apart (NOTES.md: Credit notes): two parts, one cursor.
            part, offset = decode_cursor_part(query.cursor, 2)
            rows, next_offset = self._paged(api, resource, query, offset, credit_notes=part == 1)
            if part == 0 and next_offset is None and len(rows) < query.page_size:
                # The documents end on this page: the credit notes fill the rest of it.
                rest = dataclasses.replace(query, page_size=query.page_size - len(rows))
                notes, next_offset = self._paged(api, resource, rest, 0, credit_notes=True)
                rows, part = rows + notes, 1
            elif part == 0 and next_offset is None:
                next_cursor = encode_cursor(0, part=1)
            if next_offset is not None:
                next_cursor = encode_cursor(next_offset, part=part)
        else:
            offset = decode_cursor(query.cursor)
            if resource in _PAGED:
                rows, next_offset = self._paged(api, resource, query, offset)
            else:
                rows, next_offset = self._unpaged(api, resource, query, offset)
            next_cursor = encode_cursor(next_offset) if next_offset is not None else None
        after = query.updated_after
        if after is not None:
            # If-Modified-Since is inclusive and to the second; "updated after" is strict.
            rows = [row for row in rows if (moment := _updated(row)) is None or moment > after]
        records = self._records(api, resource, rows)
        if not query.include_remote_data:
            records = [record.without_remote_data() for record in records]
        return Page(records=records, next_cursor=next_cursor)

    def _paged(
        self, api: TenantApi, resource: Resource, query: ListQuery, offset: int, *, credit_notes: bool = False
    ) -> tuple[list[dict[str, Any]], int | None]:
        page, skip = page_window(offset, query.page_size)
        params: dict[str, str] = {"page": str(page), "pageSize": str(query.page_size)}
        if resource is Resource.CONTACTS:
            params["includeArchived"] = "true"  # archived contacts are unified records with status archived
            path, key = "Contacts", "Contacts"
        elif resource is Resource.JOURNAL_ENTRIES:
            # A deleted (draft) manual journal is no record; voided ones stay, booked and reversed.
            params["where"] = f'Status!="{journal_entries.DELETED}"'
            path, key = journal_entries.PATH, journal_entries.PATH
        elif credit_notes:
            path, key = "CreditNotes", "CreditNotes"
            where = CREDIT_NOTES[resource]
            contact = query.filters.get("contact_id")
            if contact is not None:
                guid = parse_guid(contact)
                if guid is None:
                    raise InvalidInput("contact_id", "Not an id of this connection.")
                where = f'{where} AND Contact.ContactID==Guid("{guid}")'  # CreditNotes take no ContactIDs
            params["where"] = where
        else:
            path, key = "Invoices", "Invoices"
            params["where"] = purchases.BILLS if resource is Resource.PURCHASE_INVOICES else SALES_INVOICES
            if resource is Resource.PAYMENTS:
                params["Statuses"] = "AUTHORISED,PAID"  # only approved invoices are receivables
            contact = query.filters.get("contact_id")
            if contact is not None:
                guid = parse_guid(contact)
                if guid is None:
                    raise InvalidInput("contact_id", "Not an id of this connection.")
                params["ContactIDs"] = guid
        body = api.get(path, params=params, modified_since=query.updated_after)
        rows = _rows(body, key, path)
        consumed = offset - skip + len(rows)
        more = len(rows) == query.page_size
        pagination = body.get("pagination") if isinstance(body, dict) else None
        if isinstance(pagination, dict) and isinstance(pagination.get("pageCount"), int):
            more = page < pagination["pageCount"]
        return rows[skip:], consumed if more and rows else None

    def _unpaged(
        self, api: TenantApi, resource: Resource, query: ListQuery, offset: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        path = {Resource.LEDGER_ACCOUNTS: "Accounts", Resource.TAX_RATES: "TaxRates", Resource.ITEMS: "Items"}[resource]
        # TaxRates ignore If-Modified-Since (NOTES.md: If-Modified-Since): not sent, the filter above keeps them.
        since = query.updated_after if resource is not Resource.TAX_RATES else None
        rows = _rows(api.get(path, modified_since=since), path, path)
        chunk = rows[offset : offset + query.page_size]
        end = offset + len(chunk)
        return chunk, end if end < len(rows) else None

    def retrieve_record(
        self, ctx: CallContext, resource: Resource, record_id: str, *, include_remote_data: bool = False
    ) -> Any:
        resource = Resource(resource)
        if not self.supports(resource.value, Operation.RETRIEVE):
            raise OperationNotSupported(resource.value, Operation.RETRIEVE, self.name)
        record = self._retrieve(TenantApi(ctx), resource, record_id)
        return record if include_remote_data else record.without_remote_data()

    def _retrieve(self, api: TenantApi, resource: Resource, record_id: str) -> Any:
        not_found = VendorNotFound(f"No {resource.value} record '{record_id}'.", status=404)
        if resource is Resource.TAX_RATES:
            code = str(record_id).strip()
            if not _TAX_TYPE_RE.fullmatch(code):
                raise not_found
            rows = [row for row in api.records("TaxRates", "TaxRates") if row.get("TaxType") == code]
        else:
            guid = parse_guid(str(record_id))
            if guid is None:
                raise not_found  # Xero ids are GUIDs: anything else never reaches the URL
            path = {
                Resource.CONTACTS: "Contacts",
                Resource.INVOICES: "Invoices",
                Resource.PAYMENTS: "Invoices",
                Resource.PURCHASE_INVOICES: "Invoices",
                Resource.JOURNAL_ENTRIES: journal_entries.PATH,
                Resource.LEDGER_ACCOUNTS: "Accounts",
                Resource.ITEMS: "Items",
            }[resource]
            try:
                rows = api.records(f"{path}/{guid}", path)
            except VendorNotFound:
                if resource not in CREDIT_NOTES:
                    raise
                rows = []
            if resource in (Resource.INVOICES, Resource.PAYMENTS):
                rows = [row for row in rows if row.get("Type") == "ACCREC"]
            if resource is Resource.PAYMENTS:
                rows = [row for row in rows if row.get("Status") in ("AUTHORISED", "PAID")]
            if resource is Resource.PURCHASE_INVOICES:
                rows = [row for row in rows if row.get("Type") == "ACCPAY"]
            if resource is Resource.JOURNAL_ENTRIES:
                rows = [row for row in rows if row.get("Status") != journal_entries.DELETED]
            if not rows and resource in CREDIT_NOTES:
                rows = self._retrieve_credit_note(api, resource, guid)
        if not rows:
            raise not_found
        return self._records(api, resource, rows[:1])[0]

    def _retrieve_credit_note(self, api: TenantApi, resource: Resource, guid: str) -> list[dict[str, Any]]:
        """The credit note of this side (sales or purchases) with this id, or nothing."""
        try:
            rows = api.records(f"CreditNotes/{guid}", "CreditNotes")
        except VendorNotFound:
            return []
        wanted = CREDIT_NOTES[resource].split('"')[1]
        return [row for row in rows if row.get("Type") == wanted]

    def records_of(self, api: TenantApi, resource: Resource, rows: list[dict[str, Any]]) -> list[Any]:
        """Xero rows -> unified records with remote_data (for sync.py)."""
        return self._records(api, resource, rows)

    def _records(self, api: TenantApi, resource: Resource, rows: list[dict[str, Any]]) -> list[Any]:
        if resource is Resource.CONTACTS:
            return [mappers.contact_from_xero(row) for row in rows]
        if resource is Resource.INVOICES:
            item_ids = lookups.ItemIds(api) if _names_items(rows) else lookups.NO_ITEMS
            return [
                mappers.credit_note_from_xero(row, item_ids=item_ids)
                if row.get("Type") == "ACCRECCREDIT"
                else mappers.invoice_from_xero(row, item_ids=item_ids)
                for row in rows
            ]
        if resource is Resource.PAYMENTS:
            return [mappers.payment_from_xero(row) for row in rows]
        if resource is Resource.LEDGER_ACCOUNTS:
            return [mappers.ledger_account_from_xero(row) for row in rows]
        if resource is Resource.TAX_RATES:
            return [mappers.tax_rate_from_xero(row) for row in rows]
        if resource is Resource.ITEMS:
            return [mappers.item_from_xero(row) for row in rows]
        if resource is Resource.PURCHASE_INVOICES:
            return [purchases.purchase_invoice_from_xero(row) for row in rows]
        if resource is Resource.JOURNAL_ENTRIES:
            return [journal_entries.journal_entry_from_xero(row) for row in rows]
        raise OperationNotSupported(resource.value, Operation.LIST, self.name)

    # ===================================================================================== writes

    def create_record(self, ctx: CallContext, resource: Resource, data: Any, *, mapping: Any) -> WriteResult[Any]:
        resource = Resource(resource)
        if resource is Resource.CONTACTS:
            return self._create_contact(ctx, data)
        if resource is Resource.INVOICES:
            return self._create_invoice(ctx, data, mapping or LedgerMapping())
        if resource is Resource.ITEMS:
            return self._create_item(ctx, data)
        if resource is Resource.PURCHASE_INVOICES:
            return self._create_purchase_invoice(ctx, data)
        if resource is Resource.JOURNAL_ENTRIES:
            return self._create_journal_entry(ctx, data)
        raise OperationNotSupported(resource.value, Operation.CREATE, self.name)

    def _create_journal_entry(self, ctx: CallContext, data: JournalEntryInput) -> WriteResult[Any]:
        """A posted manual journal (journal_entries.py). Unbalanced input, a missing narration or ids that are no
        GUIDs are refused before any call; then the accounts (and, for a currency, the organisation) are read, so
        an unknown account is refused naming its line before the PUT."""
        for index, line in enumerate(data.lines):
            if parse_guid(line.ledger_account_id or "") is None:
                raise InvalidInput(f"lines[{index}].ledger_account_id", "Not an id of this connection.")
        placeholder = dict.fromkeys(range(len(data.lines)), "?")
        journal_entries.journal_entry_to_xero(data, account_codes=placeholder)  # InvalidInput before any call
        api = TenantApi(ctx)
        if data.currency is not None:
            (organisation,) = api.records("Organisation", "Organisations")[:1]
            base = clean_text(organisation.get("BaseCurrency"))
            if base and data.currency.upper() != base.upper():
                raise InvalidInput("currency", f"Xero books manual journals in the base currency ({base}) only.")
        lines = [(line.ledger_account_id, line.tax_rate_id) for line in data.lines]
        accounts = lookups.line_accounts(api, lines, allow_bank=True)  # and the tax types on their accounts
        codes = {index: str(row["Code"]) for index, row in accounts.items()}
        percentages = lookups.tax_percentages(api) if any(tax for _, tax in lines) else None
        payload, warnings = journal_entries.journal_entry_to_xero(
            data, account_codes=codes, tax_percentages=percentages
        )
        (created,) = api.write("PUT", journal_entries.PATH, {journal_entries.PATH: [payload]}, journal_entries.PATH)[:1]
        journal_id = parse_guid(str(created.get("ManualJournalID") or ""))
        if journal_id is None:
            raise VendorError("Xero created the manual journal but did not return its ManualJournalID.")
        ctx.record_created(journal_id)
        record = journal_entries.journal_entry_from_xero(created)
        return WriteResult(record=record.without_remote_data(), warnings=list(warnings))

    def _create_purchase_invoice(self, ctx: CallContext, data: PurchaseInvoiceInput) -> WriteResult[Any]:
        """An approved ACCPAY invoice, or ACCPAYCREDIT credit note for `type: credit_note` (purchases.py). Ids are
        checked to be GUIDs and the body mapped before any call; then the supplier, the accounts and the tax types
        are read and checked (one read each), so what Xero would refuse is refused naming the field, before the
        PUT."""
        if parse_guid(data.contact_id or "") is None:
            raise InvalidInput("contact_id", "Not an id of this connection (Xero ids are GUIDs).")
        for index, line in enumerate(data.lines):
            if parse_guid(line.ledger_account_id or "") is None:
                raise InvalidInput(f"lines[{index}].ledger_account_id", "Not an id of this connection.")
            if line.tax_rate_id is not None and not _TAX_TYPE_RE.fullmatch(line.tax_rate_id.strip()):
                raise InvalidInput(f"lines[{index}].tax_rate_id", "Not a tax rate of this connection.")
        placeholder = dict.fromkeys(range(len(data.lines)), "?")
        purchases.purchase_invoice_to_xero(data, account_codes=placeholder)  # InvalidInput before any call
        corrects = _corrected_guid(data.corrects_invoice_id)
        api = TenantApi(ctx)
        lookups.require_contact(api, data.contact_id)
        corrected = _corrected_invoice(api, corrects, "ACCPAY", data.contact_id) if corrects else None
        accounts = lookups.line_accounts(api, [(line.ledger_account_id, line.tax_rate_id) for line in data.lines])
        codes = {index: str(row["Code"]) for index, row in accounts.items()}
        credit_note = data.type is InvoiceType.CREDIT_NOTE
        payload, warnings = purchases.purchase_invoice_to_xero(data, account_codes=codes, credit_note=credit_note)
        path, key = ("CreditNotes", "CreditNoteID") if credit_note else ("Invoices", "InvoiceID")
        (created,) = api.write("PUT", path, {path: [payload]}, path)[:1]
        invoice_id = parse_guid(str(created.get(key) or ""))
        if invoice_id is None:
            raise VendorError(f"Xero created the purchase document but did not return its {key}.")
        ctx.record_created(invoice_id)
        if corrected is not None:
            created = _allocate(api, created, corrected)
        record = purchases.purchase_invoice_from_xero(created)
        return WriteResult(record=record.without_remote_data(), warnings=list(warnings))

    def _create_contact(self, ctx: CallContext, data: ContactInput) -> WriteResult[Any]:
        payload, warnings = mappers.contact_to_xero(data, creating=True)
        api = TenantApi(ctx)
        (created,) = api.write("PUT", "Contacts", {"Contacts": [payload]}, "Contacts")[:1]
        _record_created(ctx, created.get("ContactID"))
        return WriteResult(record=mappers.contact_from_xero(created).without_remote_data(), warnings=list(warnings))

    def _create_item(self, ctx: CallContext, data: ItemInput) -> WriteResult[Any]:
        api = TenantApi(ctx)
        account_code = None
        if data.revenue_ledger_account_id is not None:
            account_code = lookups.account_code(api, data.revenue_ledger_account_id)
            if account_code is None:
                raise InvalidInput("revenue_ledger_account_id", "Not a ledger account of this organisation.")
        payload, warnings = mappers.item_to_xero(data, account_code=account_code)
        (created,) = api.write("PUT", "Items", {"Items": [payload]}, "Items")[:1]
        _record_created(ctx, created.get("ItemID"))
        return WriteResult(record=mappers.item_from_xero(created).without_remote_data(), warnings=list(warnings))

    def _create_invoice(self, ctx: CallContext, data: InvoiceInput, mapping: LedgerMapping) -> WriteResult[Any]:
        if parse_guid(data.contact_id or "") is None:
            raise InvalidInput("contact_id", "Not an id of this connection (Xero ids are GUIDs).")
        for index, line in enumerate(data.lines):
            if line.item_id and parse_guid(line.item_id) is None:
                raise InvalidInput(f"lines[{index}].item_id", "Not an id of this connection.")
            if line.ledger_account_id and parse_guid(line.ledger_account_id) is None:
                raise InvalidInput(f"lines[{index}].ledger_account_id", "Not an id of this connection.")
        # First pass without any call: MappingMissing for gaps the mapping has whatever Xero holds.
        mappers.invoice_to_xero(data, mapping=mapping, codes=lookups.ANY_ITEM)
        corrects = _corrected_guid(data.corrects_invoice_id)
        if corrects and data.status is InvoiceStatus.DRAFT:
            raise InvalidInput(
                "corrects_invoice_id", "Xero allocates only an approved credit note: leave out draft or the link."
            )
        api = TenantApi(ctx)
        corrected = _corrected_invoice(api, corrects, "ACCREC", data.contact_id) if corrects else None
        codes = lookups.item_codes(api) if _needs_items(data, mapping) else mappers.XeroCodes()
        payload, warnings = mappers.invoice_to_xero(data, mapping=mapping, codes=codes)
        credit_note = payload["Type"] == "ACCRECCREDIT"
        path, key = ("CreditNotes", "CreditNoteID") if credit_note else ("Invoices", "InvoiceID")
        (created,) = api.write("PUT", path, {path: [payload]}, path)[:1]
        invoice_id = parse_guid(str(created.get(key) or ""))
        if invoice_id is None:
            raise VendorError(f"Xero created the document but did not return its {key}.")
        ctx.record_created(invoice_id)
        if corrected is not None:
            created = _allocate(api, created, corrected)
        item_ids = lookups.StaticItemIds(codes)
        record = (
            mappers.credit_note_from_xero(created, item_ids=item_ids)
            if credit_note
            else mappers.invoice_from_xero(created, item_ids=item_ids)
        )
        return WriteResult(record=record.without_remote_data(), warnings=list(warnings))

    def update_record(
        self, ctx: CallContext, resource: Resource, record_id: str, data: Any, *, mapping: Any
    ) -> WriteResult[Any]:
        resource = Resource(resource)
        if resource not in (Resource.CONTACTS, Resource.INVOICES):
            raise OperationNotSupported(resource.value, Operation.UPDATE, self.name)
        guid = parse_guid(str(record_id))
        if guid is None:
            raise VendorNotFound(f"No {resource.value} record '{record_id}'.", status=404)
        api = TenantApi(ctx)
        if resource is Resource.CONTACTS:
            payload, warnings = mappers.contact_to_xero(data, creating=False)
            current = self._retrieve(api, resource, guid)  # 404 for an id that is not a contact
            if payload:
                (row,) = api.write("POST", f"Contacts/{guid}", {"Contacts": [payload]}, "Contacts")[:1]
                return WriteResult(record=mappers.contact_from_xero(row).without_remote_data(), warnings=warnings)
            return WriteResult(record=current.without_remote_data(), warnings=warnings)
        payload = _invoice_update_payload(data)  # refuses fields Xero cannot change before any call
        current = self._retrieve(api, resource, guid)  # 404 for a bill or an unknown id
        if payload:
            row = self._post_document(api, guid, payload, credit_note=current.type is InvoiceType.CREDIT_NOTE)
            return WriteResult(record=self._records(api, Resource.INVOICES, [row])[0].without_remote_data())
        return WriteResult(record=current.without_remote_data())

    def _post_document(
        self, api: TenantApi, guid: str, payload: dict[str, Any], *, credit_note: bool
    ) -> dict[str, Any]:
        """POST a change to a sales invoice or credit note (Xero keeps them at different paths)."""
        path, key = ("CreditNotes", "CreditNoteID") if credit_note else ("Invoices", "InvoiceID")
        (row,) = api.write("POST", f"{path}/{guid}", {path: [{key: guid, **payload}]}, path)[:1]
        return row

    def finalize_invoice(self, ctx: CallContext, invoice_id: str) -> Any:
        guid = parse_guid(str(invoice_id))
        if guid is None:
            raise VendorNotFound(f"No invoices record '{invoice_id}'.", status=404)
        api = TenantApi(ctx)
        current = self._retrieve(api, Resource.INVOICES, guid)
        if current.finalized:
            return WriteResult(record=current.without_remote_data())
        # Approving books the invoice in Xero (DRAFT/SUBMITTED -> AUTHORISED); it never e-mails it.
        credit_note = current.type is InvoiceType.CREDIT_NOTE
        row = self._post_document(api, guid, {"Status": "AUTHORISED"}, credit_note=credit_note)
        return WriteResult(record=self._records(api, Resource.INVOICES, [row])[0].without_remote_data())

    # ===================================================================================== attachments

    def attachment_create(
        self, ctx: CallContext, resource: Resource, record_id: str, data: AttachmentInput
    ) -> Attachment:
        return attachments.create(TenantApi(ctx), self._attachable(resource), record_id, data)

    def attachment_list(self, ctx: CallContext, resource: Resource, record_id: str) -> list[Attachment]:
        return attachments.list_for(TenantApi(ctx), self._attachable(resource), record_id)

    def attachment_content(
        self, ctx: CallContext, resource: Resource, record_id: str, attachment_id: str
    ) -> AttachmentContent:
        return attachments.content(TenantApi(ctx), self._attachable(resource), record_id, attachment_id)

    def _attachable(self, resource: Resource | str) -> Resource:
        if str(resource) not in self.attachment_resources:
            raise OperationNotSupported(str(resource), "attachments", self.name)
        return Resource(resource)

    # ===================================================================================== sync (sync.py)

    sync_resources = sync.SYNC_RESOURCES

    def sync_begin(self, ctx: CallContext, resource: Resource) -> str:
        return sync.sync_begin(Resource(resource))

    def sync_next(self, ctx: CallContext, resource: Resource, checkpoint: str) -> SyncBatch[Any]:
        return sync.sync_next(self, TenantApi(ctx), Resource(resource), checkpoint)

    def sync_fetch(self, ctx: CallContext, resource: Resource, remote_ids: list[str]) -> list[Any]:
        return sync.sync_fetch(self, TenantApi(ctx), Resource(resource), remote_ids)

    # Webhooks are configured per app in Xero's developer portal, not through the API: no topics to subscribe.
    def inbound_parse(self, body: bytes, headers: Mapping[str, str]) -> InboundDelivery:
        return webhooks.inbound_delivery(body)

    def inbound_verify(self, body: bytes, headers: Mapping[str, str], secret: str) -> bool:
        return webhooks.inbound_signature_valid(body, headers, secret)

    # ====================================================================== recovery, mapping, passthrough

    def find_existing(self, ctx: CallContext, resource: Resource, data: Any) -> Any | None:
        """The record a create whose answer was lost may have made (after calls.py's idempotent resend failed)."""
        resource = Resource(resource)
        api = TenantApi(ctx)
        if resource is Resource.CONTACTS:
            # Contact names are unique among active contacts in Xero (NOTES.md: Writes).
            if data.code:
                where = f'ContactNumber=="{_quoted(data.code)}"'
            elif data.name:
                where = f'Name=="{_quoted(data.name.strip())}"'
            else:
                return None
            rows = api.records("Contacts", "Contacts", params={"where": where})
            return mappers.contact_from_xero(rows[0]).without_remote_data() if rows else None
        if resource is Resource.INVOICES:
            contact = parse_guid(data.contact_id or "")
            if contact is None or not data.reference:
                return None
            credit_note = data.type is InvoiceType.CREDIT_NOTE
            kind = CREDIT_NOTES[resource] if credit_note else SALES_INVOICES
            where = f'{kind} AND Reference=="{_quoted(data.reference)}"'
            return self._newest_invoice_or_credit_note(
                api, resource, credit_note=credit_note, where=where, contact=contact
            )
        if resource is Resource.PURCHASE_INVOICES:
            # Bill numbers are not unique in Xero: the supplier's number and the supplier together find it.
            contact = parse_guid(data.contact_id or "")
            if contact is None or not data.number:
                return None
            number = _quoted(data.number.strip())
            credit_note = data.type is InvoiceType.CREDIT_NOTE
            if credit_note:
                where = f'{purchases.PURCHASE_CREDIT_NOTES} AND CreditNoteNumber=="{number}"'
            else:
                where = f'{purchases.BILLS} AND InvoiceNumber=="{number}"'
            return self._newest_invoice_or_credit_note(
                api, resource, credit_note=credit_note, where=where, contact=contact
            )
        if resource is Resource.ITEMS:
            if not data.code:
                return None
            rows = api.records("Items", "Items", params={"where": f'Code=="{_quoted(data.code.strip())}"'})
            return mappers.item_from_xero(rows[0]).without_remote_data() if rows else None
        return None

    def _newest_invoice_or_credit_note(
        self, api: TenantApi, resource: Resource, *, credit_note: bool, where: str, contact: str
    ) -> Any | None:
        """The most recently updated credit note or invoice matching `where` for `contact`, read in full, or None."""
        if credit_note:
            # NOTES.md: Filtering lists ContactIDs for Invoices, not for CreditNotes: here the contact joins `where`.
            where = f'{where} AND Contact.ContactID==Guid("{contact}")'
            rows = api.records("CreditNotes", "CreditNotes", params={"where": where, "page": "1"})
            id_key = "CreditNoteID"
        else:
            rows = api.records("Invoices", "Invoices", params={"where": where, "ContactIDs": contact, "page": "1"})
            id_key = "InvoiceID"
        if not rows:
            return None
        newest = max(rows, key=lambda row: str(_updated(row) or ""))
        return self._retrieve(api, resource, str(newest[id_key])).without_remote_data()

    def check_mapping(self, ctx: CallContext, mapping: Any) -> list[tuple[str, str]]:
        return lookups.mapping_problems(TenantApi(ctx), mapping)

    def passthrough(
        self, ctx: CallContext, *, method: str, path: str, query: dict[str, str], body: Any
    ) -> PassthroughResult:
        method = str(method).upper()
        relative = str(path).strip().lstrip("/")
        if method not in ("GET", "PUT", "POST"):
            raise PassthroughDenied(
                path, f"Xero's Accounting API takes GET, PUT and POST through passthrough, not {method}."
            )
        if not _PASSTHROUGH_PATH_RE.fullmatch(relative) or ".." in relative:
            raise PassthroughDenied(
                path, "Give a path of the Accounting API relative to the organisation, e.g. 'Invoices'."
            )
        if method == "GET" and body is not None:
            raise InvalidInput("body", "A GET carries no body.")
        params = {str(name): str(value) for name, value in (query or {}).items()}
        response = TenantApi(ctx).raw(
            method, relative, params=params or None, body=body, raise_for=raise_only_for_call_errors
        )
        content: Any = None
        if response.content:
            try:
                content = response.json()
            except ValueError:
                content = response.text
        headers = {
            name: value
            for name, value in response.headers.items()
            if name.lower().endswith("limit-remaining") or name.lower() in ("content-type", "x-rate-limit-problem")
        }
        return PassthroughResult(status=response.status_code, body=content, headers=headers)

    def company_info(self, ctx: CallContext) -> Any:
        """The organisation (GET Organisation, one call; company.py) as a CompanyInfo with remote_data."""
        return company.read(TenantApi(ctx))

    def company_get_json(self, ctx: CallContext, path: str, *, params: Mapping[str, str] | None = None) -> Any:
        return TenantApi(ctx).get(path, params=params)


# ---------------------------------------------------------------------------------------------- helpers

INVOICE_UPDATABLE = {"reference": "Reference", "due_date": "DueDate"}
INVOICE_FIXED = (
    "contact_id",
    "journal_code",
    "type",
    "currency",
    "number",
    "issue_date",
    "status",
    "lines",
    "description",
)


def _invoice_update_payload(data: InvoiceUpdate) -> dict[str, Any]:
    for name in INVOICE_FIXED:
        if getattr(data, name, None) is not None:
            reason = (
                "Xero invoices have no description."
                if name == "description"
                else "This connector changes only the reference and due date of an existing Xero invoice."
            )
            raise InvalidInput(name, reason)
    payload: dict[str, Any] = {}
    for name, xero_name in INVOICE_UPDATABLE.items():
        value = getattr(data, name, None)
        if value is not None:
            payload[xero_name] = format_xero_date(value) if name == "due_date" else value
    return payload


def _corrected_guid(value: str | None) -> str | None:
    if value is None:
        return None
    guid = parse_guid(value)
    if guid is None:
        raise InvalidInput("corrects_invoice_id", "Not an id of this connection (Xero ids are GUIDs).")
    return guid


def _corrected_invoice(api: TenantApi, guid: str, invoice_type: str, contact_id: str | None) -> dict[str, Any]:
    """The invoice (ACCREC) or bill (ACCPAY) a new credit note will be allocated to, checked as Xero checks an
    allocation (NOTES.md "Credit notes"): of the same side and contact, approved, with something still due.
    InvalidInput naming `corrects_invoice_id` before the credit note is created."""
    field = "corrects_invoice_id"
    noun = "bill" if invoice_type == "ACCPAY" else "sales invoice"
    try:
        rows = api.records(f"Invoices/{guid}", "Invoices")
    except VendorNotFound:
        rows = []
    if not rows or rows[0].get("Type") != invoice_type:
        raise InvalidInput(field, f"No {noun} with this id in the organisation.")
    invoice = rows[0]
    contact = invoice.get("Contact") if isinstance(invoice.get("Contact"), dict) else {}
    if parse_guid(str(contact.get("ContactID") or "")) != parse_guid(contact_id or ""):
        raise InvalidInput(field, f"The {noun} belongs to another contact; Xero allocates credit within one contact.")
    if invoice.get("Status") != "AUTHORISED":
        raise InvalidInput(field, f"Xero allocates credit only to an approved (AUTHORISED) {noun} with an amount due.")
    return invoice


def _allocate(api: TenantApi, credit_note: dict[str, Any], invoice: Mapping[str, Any]) -> dict[str, Any]:
    """PUT CreditNotes/{id}/Allocations: as much of the new credit note as the invoice still owes (Xero refuses
    more than the remaining credit or the amount due); answers the credit note as read after it."""
    total = to_money(credit_note.get("RemainingCredit"), "RemainingCredit")
    if total is None:
        total = to_money(credit_note.get("Total"), "Total") or Decimal(0)
    due = to_money(invoice.get("AmountDue"), "AmountDue") or Decimal(0)
    guid = str(credit_note["CreditNoteID"])
    allocation = {
        "Amount": min(total, due),
        "Invoice": {"InvoiceID": str(invoice["InvoiceID"])},
        "Date": format_xero_date(parse_xero_date(credit_note.get("Date"), "Date") or date.today()),
    }
    api.write("PUT", f"CreditNotes/{guid}/Allocations", {"Allocations": [allocation]}, "Allocations")
    (row,) = api.records(f"CreditNotes/{guid}", "CreditNotes")[:1]
    return row


def _rows(body: Any, key: str, path: str) -> list[dict[str, Any]]:
    rows = body.get(key) if isinstance(body, dict) else None
    if body is None:
        return []
    if not isinstance(rows, list):
        raise VendorError(f"Xero's answer to GET {path} has no {key} list.")
    return [row for row in rows if isinstance(row, dict)]


def _updated(row: Mapping[str, Any]) -> datetime | None:
    return parse_xero_datetime(row.get("UpdatedDateUTC"), "UpdatedDateUTC")


def _names_items(rows: list[dict[str, Any]]) -> bool:
    return any(
        clean_text(line.get("ItemCode"))
        for row in rows
        for line in (row.get("LineItems") or [])
        if isinstance(line, dict)
    )


def _needs_items(data: InvoiceInput, mapping: LedgerMapping) -> bool:
    return bool(mapping.default_item) or any(line.item_id or line.item_code for line in data.lines)


def _quoted(value: str) -> str:
    """A value inside a `where` string literal (Xero's filter syntax escapes a quote with a backslash)."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _record_created(ctx: CallContext, remote_id: Any) -> None:
    guid = parse_guid(str(remote_id or ""))
    if guid is not None:
        ctx.record_created(guid)
