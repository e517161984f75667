"""The Accounting API over HTTP: routes, lists (paging, where, order, If-Modified-Since), writes, idempotency."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from connectors.xero.sandbox import entities, xmlio
from connectors.xero.sandbox.context import RequestContext
from connectors.xero.sandbox.entities import Outcome, WriteContext
from connectors.xero.sandbox.errors import (
    api_exception,
    json_response,
    not_found,
    query_parse_exception,
)
from connectors.xero.sandbox.store import OrganisationStore, StoredResponse
from connectors.xero.sandbox.values import guid, ms_date, parse_if_modified_since
from connectors.xero.sandbox.where import WhereError, parse_order, parse_where, sort_records

# NOTES.md "Paging": 100 records a page by default; pageSize up to 1000.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# NOTES.md "Limits": at most 3.5 MB per Accounting API request body.
MAX_BODY_BYTES = 3_500_000
# NOTES.md "Idempotency": keys are at most 128 characters.
MAX_IDEMPOTENCY_KEY = 128

# NOTES.md "Scopes": the broad accounting.transactions, or the granular scope of each resource family (2026).
_READ_BROAD = frozenset({"accounting.transactions", "accounting.transactions.read"})
_WRITE_BROAD = frozenset({"accounting.transactions"})
_READ_TRANSACTIONS = _READ_BROAD | {"accounting.invoices", "accounting.invoices.read"}
_WRITE_TRANSACTIONS = _WRITE_BROAD | {"accounting.invoices"}
_READ_SETTINGS = frozenset({"accounting.settings", "accounting.settings.read"})
_READ_ATTACHMENTS = frozenset({"accounting.attachments", "accounting.attachments.read"})
_WRITE_ATTACHMENTS = frozenset({"accounting.attachments"})
# NOTES.md "Attachments": the parents the sandbox serves, at most 10 files each, 10 MB a file (unconfirmed).
ATTACHMENT_PARENTS = frozenset({"Contacts", "Invoices", "CreditNotes", "Accounts", "ManualJournals"})
MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
_WRITE_SETTINGS = frozenset({"accounting.settings"})

_DOCUMENT_SCHEMA: dict[str, Any] = {
    "Type": "str",
    "Reference": "str",
    "Status": "str",
    "LineAmountTypes": "str",
    "CurrencyCode": "str",
    "Date": "date",
    "DueDate": "date",
    "FullyPaidOnDate": "date",
    "SubTotal": "decimal",
    "TotalTax": "decimal",
    "Total": "decimal",
    "AmountDue": "decimal",
    "AmountPaid": "decimal",
    "AmountCredited": "decimal",
    "CurrencyRate": "decimal",
    "UpdatedDateUTC": "datetime",
    "HasAttachments": "bool",
    "SentToContact": "bool",
    "IsDiscounted": "bool",
    "Contact": {"ContactID": "guid", "Name": "str", "ContactNumber": "str", "EmailAddress": "str"},
}


@dataclass(frozen=True)
class ResourceSpec:
    name: str
    singular: str
    key: str
    save: entities.Saver | None
    render: entities.Renderer
    schema: dict[str, Any]
    read_scopes: frozenset[str]
    write_scopes: frozenset[str]
    # GET /{Resource}/{x} also finds a record by this field (InvoiceNumber, ContactNumber, Code).
    alt_key: str | None = None
    # NOTES.md "Paging": only these collections page.
    paged: bool = False
    # NOTES.md "If-Modified-Since": declared on some resources only; others ignore the header.
    modified_since: bool = True
    # Lists without `page` leave out line items on these (NOTES.md "Paging").
    summary_without_page: bool = False
    # POST without an ID updates the record matching this field (Contacts by name, Items by code).
    upsert_on: tuple[str, ...] = ()
    # DELETE /{Resource}/{id}: the status to answer with, or None when DELETE is not served.
    delete_status: int | None = None
    # PUT takes one bare element (Accounts) rather than a wrapper.
    single_element: bool = False


SPECS: dict[str, ResourceSpec] = {
    spec.name: spec
    for spec in (
        ResourceSpec(
            "Contacts",
            "Contact",
            "ContactID",
            entities.save_contact,
            entities.render_contact,
            {
                "ContactID": "guid",
                "ContactNumber": "str",
                "AccountNumber": "str",
                "ContactStatus": "str",
                "Name": "str",
                "FirstName": "str",
                "LastName": "str",
                "EmailAddress": "str",
                "TaxNumber": "str",
                "CompanyNumber": "str",
                "IsSupplier": "bool",
                "IsCustomer": "bool",
                "DefaultCurrency": "str",
                "UpdatedDateUTC": "datetime",
                "HasAttachments": "bool",
            },
            frozenset({"accounting.contacts", "accounting.contacts.read"}),
            frozenset({"accounting.contacts"}),
            alt_key="ContactNumber",
            paged=True,
            upsert_on=("ContactNumber", "Name"),
        ),
        ResourceSpec(
            "Invoices",
            "Invoice",
            "InvoiceID",
            entities.save_invoice,
            entities.render_invoice,
            {**_DOCUMENT_SCHEMA, "InvoiceID": "guid", "InvoiceNumber": "str"},
            _READ_TRANSACTIONS,
            _WRITE_TRANSACTIONS,
            alt_key="InvoiceNumber",
            paged=True,
            summary_without_page=True,
        ),
        ResourceSpec(
            "CreditNotes",
            "CreditNote",
            "CreditNoteID",
            entities.save_credit_note,
            entities.render_credit_note,
            {**_DOCUMENT_SCHEMA, "CreditNoteID": "guid", "CreditNoteNumber": "str", "RemainingCredit": "decimal"},
            _READ_TRANSACTIONS,
            _WRITE_TRANSACTIONS,
            alt_key="CreditNoteNumber",
            paged=True,
            summary_without_page=True,
        ),
        ResourceSpec(
            "Payments",
            "Payment",
            "PaymentID",
            entities.save_payment,
            entities.render_payment,
            {
                "PaymentID": "guid",
                "Date": "date",
                "Amount": "decimal",
                "BankAmount": "decimal",
                "CurrencyRate": "decimal",
                "Reference": "str",
                "Status": "str",
                "PaymentType": "str",
                "IsReconciled": "bool",
                "UpdatedDateUTC": "datetime",
                "Invoice": {"InvoiceID": "guid", "InvoiceNumber": "str", "Type": "str"},
                "CreditNote": {"CreditNoteID": "guid", "CreditNoteNumber": "str", "Type": "str"},
                "Account": {"AccountID": "guid", "Code": "str"},
            },
            _READ_BROAD | {"accounting.payments", "accounting.payments.read"},
            _WRITE_BROAD | {"accounting.payments"},
            paged=True,
        ),
        ResourceSpec(
            "Accounts",
            "Account",
            "AccountID",
            entities.save_account,
            entities.render_account,
            {
                "AccountID": "guid",
                "Code": "str",
                "Name": "str",
                "Type": "str",
                "Status": "str",
                "TaxType": "str",
                "Class": "str",
                "Description": "str",
                "BankAccountNumber": "str",
                "BankAccountType": "str",
                "CurrencyCode": "str",
                "EnablePaymentsToAccount": "bool",
                "ShowInExpenseClaims": "bool",
                "ReportingCode": "str",
                "SystemAccount": "str",
                "UpdatedDateUTC": "datetime",
                "HasAttachments": "bool",
            },
            _READ_SETTINGS,
            _WRITE_SETTINGS,
            delete_status=200,
            single_element=True,
        ),
        ResourceSpec(
            "TaxRates",
            "TaxRate",
            "TaxType",
            entities.save_tax_rate,
            entities.render_tax_rate,
            {
                "Name": "str",
                "TaxType": "str",
                "Status": "str",
                "ReportTaxType": "str",
                "DisplayTaxRate": "decimal",
                "EffectiveRate": "decimal",
                "CanApplyToAssets": "bool",
                "CanApplyToEquity": "bool",
                "CanApplyToExpenses": "bool",
                "CanApplyToLiabilities": "bool",
                "CanApplyToRevenue": "bool",
            },
            _READ_SETTINGS,
            _WRITE_SETTINGS,
            modified_since=False,
            upsert_on=("TaxType",),
        ),
        ResourceSpec(
            "Items",
            "Item",
            "ItemID",
            entities.save_item,
            entities.render_item,
            {
                "ItemID": "guid",
                "Code": "str",
                "Name": "str",
                "Description": "str",
                "PurchaseDescription": "str",
                "IsSold": "bool",
                "IsPurchased": "bool",
                "IsTrackedAsInventory": "bool",
                "InventoryAssetAccountCode": "str",
                "QuantityOnHand": "decimal",
                "UpdatedDateUTC": "datetime",
                "SalesDetails": {"UnitPrice": "decimal", "AccountCode": "str", "TaxType": "str"},
                "PurchaseDetails": {"UnitPrice": "decimal", "AccountCode": "str", "TaxType": "str"},
            },
            _READ_TRANSACTIONS,
            _WRITE_TRANSACTIONS,
            alt_key="Code",
            upsert_on=("Code",),
            delete_status=204,
        ),
        ResourceSpec(
            "ManualJournals",
            "ManualJournal",
            "ManualJournalID",
            entities.save_manual_journal,
            entities.render_manual_journal,
            {
                "ManualJournalID": "guid",
                "Narration": "str",
                "Date": "date",
                "Status": "str",
                "LineAmountTypes": "str",
                "ShowOnCashBasisReports": "bool",
                "UpdatedDateUTC": "datetime",
                "HasAttachments": "bool",
            },
            _READ_BROAD | {"accounting.manualjournals", "accounting.manualjournals.read"},
            _WRITE_BROAD | {"accounting.manualjournals"},
            paged=True,
            summary_without_page=True,
        ),
    )
}
_BY_LOWER = {name.lower(): spec for name, spec in SPECS.items()}
WEBHOOK_CATEGORIES = frozenset({"CONTACT", "INVOICE", "CREDITNOTE"})


class ApiError(Exception):
    """Answer the request with `response` (raised from deep inside list and write handling)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


# ====================================================================================================== rendering


def _json_value(value: Any, key: str = "", unitdp: int = 2) -> Any:
    if isinstance(value, datetime | date):
        return ms_date(value)
    if isinstance(value, Decimal):
        if key == "UnitAmount" and unitdp == 4:
            return float(value.quantize(Decimal("0.0001")))
        return float(value)
    if isinstance(value, dict):
        return {k: _json_value(v, k, unitdp) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v, key, unitdp) for v in value]
    return value


def wants_json(request: Request) -> bool:
    """NOTES.md "Formats": XML unless the client asks for JSON."""
    return "application/json" in request.headers.get("Accept", "").lower()


def envelope(
    ctx: RequestContext,
    request: Request,
    key: str,
    items: list[dict[str, Any]],
    pagination: dict[str, int] | None = None,
    status: int = 200,
) -> Response:
    unitdp = 4 if request.args.get("unitdp") == "4" else 2
    headers = {"Cache-Control": "max-age=0, no-cache, no-store"}
    if wants_json(request):
        body: dict[str, Any] = {
            "Id": ctx.correlation_id,
            "Status": "OK",
            "ProviderName": ctx.app.name,
            "DateTimeUTC": f"/Date({int(ctx.now().timestamp() * 1000)})/",
        }
        if pagination is not None:
            body["pagination"] = pagination
        body[key] = _json_value(items, unitdp=unitdp)
        return json_response(body, status, headers)
    data: dict[str, Any] = {
        "Id": ctx.correlation_id,
        "Status": "OK",
        "ProviderName": ctx.app.name,
        "DateTimeUTC": ctx.now(),
    }
    if pagination is not None:
        data["pagination"] = pagination
    data[key] = items
    return Response(
        xmlio.render("Response", data), status=status, headers=headers, content_type="text/xml; charset=utf-8"
    )


def _error(request: Request, response: Response) -> Response:
    """Error bodies follow Accept too: ApiException as XML for XML clients."""
    if wants_json(request) or response.content_type.startswith("text/plain"):
        return response
    if response.content_type.startswith("application/json"):
        body = json.loads(response.get_data())
        if "ErrorNumber" in body:
            elements = body.pop("Elements", None)
            if elements is not None:
                body["Elements"] = elements
            return Response(
                xmlio.render("ApiException", body), status=response.status_code, content_type="text/xml; charset=utf-8"
            )
    return response


# ====================================================================================================== dispatch


def dispatch(ctx: RequestContext, request: Request, path: str) -> Response:
    """`path` is what follows /api.xro/2.0/ (case-insensitive names, trailing slashes allowed)."""
    try:
        return _dispatch(ctx, request, path)
    except ApiError as exc:
        return _error(request, exc.response)


def _dispatch(ctx: RequestContext, request: Request, path: str) -> Response:
    segments = [unquote(s) for s in path.strip("/").split("/") if s]
    if not segments:
        return not_found()
    name = segments[0].lower()
    if name in ("organisation", "organisations"):
        return _organisation(ctx, request, segments)
    spec = _BY_LOWER.get(name)
    if spec is None:
        return not_found()
    method = request.method.upper()
    write = method in ("PUT", "POST", "DELETE")
    allowed = spec.write_scopes if write else spec.read_scopes
    attachment_route = len(segments) in (3, 4) and segments[2].lower() == "attachments"
    if attachment_route:
        if spec.name not in ATTACHMENT_PARENTS:
            return not_found()
        allowed = _WRITE_ATTACHMENTS if write else _READ_ATTACHMENTS
    if not (ctx.scopes & allowed):
        from connectors.xero.sandbox.errors import unauthorized

        # NOTES.md "Errors": a missing scope is a 401 AuthorizationUnsuccessful.
        return unauthorized("AuthorizationUnsuccessful")
    store = ctx.organisation.store
    if len(segments) == 1:
        if method == "GET":
            return _list(ctx, request, spec, store)
        if method in ("PUT", "POST"):
            return _idempotent(ctx, request, store, lambda: _write(ctx, request, spec, store, None))
        return _method_not_allowed()
    record = _find(spec, store, segments[1])
    if len(segments) == 2:
        if method == "GET":
            if record is None:
                return not_found()
            return envelope(ctx, request, spec.name, [_view(spec, store, record, full=True)])
        if method == "POST":
            if record is None:
                return not_found()
            return _idempotent(ctx, request, store, lambda: _write(ctx, request, spec, store, record))
        if method == "DELETE" and spec.delete_status is not None:
            if record is None:
                return not_found()
            return _idempotent(ctx, request, store, lambda: _delete(ctx, request, spec, store, record))
        return _method_not_allowed()
    if attachment_route:
        if record is None:
            return not_found()
        if method == "GET":
            return _attachment_get(ctx, request, spec, store, record, segments[3] if len(segments) == 4 else None)
        if method in ("PUT", "POST") and len(segments) == 4:
            return _idempotent(
                ctx, request, store, lambda: _attachment_put(ctx, request, spec, store, record, segments[3])
            )
        return _method_not_allowed()
    if spec.name == "CreditNotes" and len(segments) == 3 and segments[2].lower() == "allocations":
        if record is None:
            return not_found()
        if method == "PUT":
            return _idempotent(ctx, request, store, lambda: _allocate(ctx, request, store, record))
        return _method_not_allowed()
    return not_found()


def _method_not_allowed() -> Response:
    return Response(
        "The requested resource does not support this HTTP method", status=405, content_type="text/plain; charset=utf-8"
    )


def _find(spec: ResourceSpec, store: OrganisationStore, ident: str) -> dict[str, Any] | None:
    table = store.tables[spec.name]
    if spec.name == "TaxRates":
        return table.get(ident) or next((r for r in table.values() if r["TaxType"].lower() == ident.lower()), None)
    key = guid(ident)
    if key is not None and key in table:
        return table[key]
    if spec.alt_key is not None:
        return store.find(spec.name, spec.alt_key, ident, casefold=True)
    return None


def _view(spec: ResourceSpec, store: OrganisationStore, record: dict[str, Any], *, full: bool) -> dict[str, Any]:
    return spec.render(store, record, full)


# ====================================================================================================== lists


def _arg(request: Request, name: str) -> str | None:
    """Query parameter names are case-insensitive (pyxero sends `IDs`, xero-python `i_ds` as `IDs`)."""
    lowered = name.lower()
    for key, value in request.args.items(multi=True):
        if key.lower() == lowered:
            return value
    return None


def _flag(request: Request, name: str) -> bool:
    return (_arg(request, name) or "").lower() == "true"


def _csv(request: Request, name: str) -> list[str] | None:
    value = _arg(request, name)
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def _guid_list(request: Request, name: str) -> set[str] | None:
    values = _csv(request, name)
    if values is None:
        return None
    result = set()
    for value in values:
        canonical = guid(value)
        if canonical is None:
            raise ApiError(api_exception(400, 10, "ValidationException", f"'{value}' is not a valid GUID in {name}"))
        result.add(canonical)
    return result


def _list(ctx: RequestContext, request: Request, spec: ResourceSpec, store: OrganisationStore) -> Response:
    with store.lock:
        records = list(store.tables[spec.name].values())
        if spec.name == "Contacts" and not _flag(request, "includeArchived"):
            records = [r for r in records if r.get("ContactStatus") != "ARCHIVED"]
        if spec.name == "Accounts":
            records = [r for r in records if r.get("Status") != "DELETED"]
        since_header = request.headers.get("If-Modified-Since")
        if since_header and spec.modified_since:
            since = parse_if_modified_since(since_header)
            if since is not None:
                # Changes since that second (NOTES.md "If-Modified-Since"), compared to the second.
                floor = since.replace(microsecond=0)
                records = [r for r in records if r["UpdatedDateUTC"].replace(microsecond=0) >= floor]
        records = _fast_filters(ctx, request, spec, records)
        summary_only = _flag(request, "summaryOnly") and spec.name in ("Invoices", "Contacts")
        page_text = _arg(request, "page")
        paging = spec.paged and page_text is not None
        full = not summary_only and (paging or not spec.summary_without_page)
        views = [(_view(spec, store, r, full=True), r) for r in records]
    where = _arg(request, "where")
    try:
        if where:
            predicate = parse_where(where, spec.schema, spec.singular)
            views = [(v, r) for v, r in views if predicate(v)]
        order = _arg(request, "order")
        if order:
            keys = parse_order(order, spec.schema, spec.singular)
            ordered = sort_records([v for v, _ in views], keys)
            views = [(v, None) for v in ordered]  # type: ignore[misc]
    except WhereError as exc:
        raise ApiError(query_parse_exception(str(exc))) from None
    items = [v for v, _ in views]
    pagination = None
    if paging:
        page = _positive_int(page_text, "page")
        size_text = _arg(request, "pageSize")
        size = DEFAULT_PAGE_SIZE if size_text is None else _positive_int(size_text, "pageSize")
        if size > MAX_PAGE_SIZE:
            raise ApiError(api_exception(400, 10, "ValidationException", f"pageSize must be at most {MAX_PAGE_SIZE}."))
        total = len(items)
        items = items[(page - 1) * size : page * size]
        pagination = {"page": page, "pageSize": size, "pageCount": -(-total // size), "itemCount": total}
    if not full:
        items = [_summarise(spec, item, summary_only) for item in items]
    return envelope(ctx, request, spec.name, items, pagination)


def _summarise(spec: ResourceSpec, item: dict[str, Any], summary_only: bool) -> dict[str, Any]:
    drop = {"LineItems", "JournalLines"}
    if summary_only:
        drop |= {"Payments", "CreditNotes", "Prepayments", "Overpayments", "Addresses", "Phones", "ContactPersons"}
    return {k: v for k, v in item.items() if k not in drop}


def _positive_int(text: str | None, name: str) -> int:
    try:
        value = int(str(text))
    except ValueError:
        value = 0
    if value < 1:
        raise ApiError(api_exception(400, 10, "ValidationException", f"{name} must be a whole number of 1 or more."))
    return value


def _fast_filters(
    ctx: RequestContext, request: Request, spec: ResourceSpec, records: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """IDs, InvoiceNumbers, ContactIDs, Statuses, createdByMyApp, searchTerm (NOTES.md "Filtering")."""
    ids = _guid_list(request, "IDs")
    if ids is not None:
        records = [r for r in records if r.get(spec.key) in ids]
    if spec.name in ("Invoices", "CreditNotes"):
        contact_ids = _guid_list(request, "ContactIDs")
        if contact_ids is not None:
            records = [r for r in records if r["Contact"]["ContactID"] in contact_ids]
        statuses = _csv(request, "Statuses")
        if statuses is not None:
            wanted = {s.upper() for s in statuses}
            records = [r for r in records if r["Status"] in wanted]
        numbers = _csv(request, "InvoiceNumbers")
        if numbers is not None and spec.name == "Invoices":
            wanted = {n.lower() for n in numbers}
            records = [r for r in records if str(r.get("InvoiceNumber", "")).lower() in wanted]
        if _flag(request, "createdByMyApp"):
            records = [r for r in records if r.get("_created_by") == ctx.app.client_id]
    term = _arg(request, "searchTerm")
    if term:
        needle = term.lower()
        fields = {
            "Contacts": ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress"),
            "Invoices": ("InvoiceNumber", "Reference"),
        }.get(spec.name, ())
        records = [r for r in records if any(needle in str(r.get(f) or "").lower() for f in fields)]
    return records


# ====================================================================================================== writes


def _elements(request: Request, spec: ResourceSpec) -> list[dict[str, Any]]:
    data = request.get_data()
    if len(data) > MAX_BODY_BYTES:
        raise ApiError(
            api_exception(
                413, 17, "PostDataInvalidException", f"The request body is larger than {MAX_BODY_BYTES} bytes."
            )
        )
    if not data.strip():
        raise ApiError(api_exception(400, 17, "PostDataInvalidException", "No data has been received."))
    content_type = (request.content_type or "").lower()
    looks_xml = data.lstrip().startswith(b"<")
    if "xml" in content_type or (looks_xml and "json" not in content_type):
        try:
            root, elements, _wrapped = xmlio.parse_body(data)
        except xmlio.XmlError as exc:
            raise ApiError(api_exception(400, 17, "PostDataInvalidException", f"Invalid XML: {exc}")) from None
        if root not in (spec.name, spec.singular):
            raise ApiError(
                api_exception(
                    400,
                    17,
                    "PostDataInvalidException",
                    f"The XML root element must be <{spec.name}> or <{spec.singular}>.",
                )
            )
        return elements
    try:
        body = json.loads(data)
    except ValueError:
        raise ApiError(
            api_exception(400, 17, "PostDataInvalidException", "The request body is not valid JSON.")
        ) from None
    if isinstance(body, dict) and spec.name in body:
        items = body[spec.name]
        if not isinstance(items, list):
            items = [items]
    elif isinstance(body, dict) and spec.singular in body and isinstance(body[spec.singular], dict):
        items = [body[spec.singular]]
    elif isinstance(body, dict):
        items = [body]
    elif isinstance(body, list):
        items = body
    else:
        raise ApiError(api_exception(400, 17, "PostDataInvalidException", "Expected a JSON object."))
    return [item if isinstance(item, dict) else {} for item in items]


def _write(
    ctx: RequestContext,
    request: Request,
    spec: ResourceSpec,
    store: OrganisationStore,
    target: dict[str, Any] | None,
) -> Response:
    assert spec.save is not None
    elements = _elements(request, spec)
    if not elements:
        raise ApiError(api_exception(400, 17, "PostDataInvalidException", "No elements were sent."))
    if spec.single_element and len(elements) > 1:
        raise ApiError(api_exception(400, 10, "ValidationException", f"Only one {spec.singular} per request."))
    summarize = (_arg(request, "summarizeErrors") or "true").lower() != "false"
    method = request.method.upper()
    wc = WriteContext(store=store, now=ctx.now(), client_id=ctx.app.client_id)
    results: list[tuple[dict[str, Any], Outcome]] = []
    with store.lock:
        for element in elements:
            existing = target
            if existing is None and method == "POST":
                existing = _upsert_target(spec, store, element)
                if existing is None and element.get(spec.key) and spec.name != "TaxRates":
                    results.append(
                        (
                            element,
                            Outcome(
                                None, [f"{spec.singular} with {spec.key} '{element[spec.key]}' could not be found."]
                            ),
                        )
                    )
                    continue
            # Batches are not transactional: every valid element is saved (NOTES.md "Writes").
            results.append((element, spec.save(wc, element, existing)))
        rendered = [
            (element, outcome, _view(spec, store, outcome.record, full=True) if outcome.record else None)
            for element, outcome in results
        ]
    _emit(ctx, wc)
    failures = [(element, outcome) for element, outcome, _ in rendered if outcome.errors]
    if summarize:
        if failures:
            return _error(request, _validation(failures))
        return envelope(ctx, request, spec.name, [view for _, _, view in rendered if view is not None])
    items: list[dict[str, Any]] = []
    for element, outcome, view in rendered:
        if outcome.errors:
            items.append(
                {
                    **element,
                    "StatusAttributeString": "ERROR",
                    "ValidationErrors": [{"Message": m} for m in outcome.errors],
                }
            )
        else:
            items.append({**(view or {}), "StatusAttributeString": "OK"})
    return envelope(ctx, request, spec.name, items)


def _validation(failures: list[tuple[dict[str, Any], Outcome]]) -> Response:
    from connectors.xero.sandbox.errors import validation_exception

    return validation_exception(
        [
            _json_value({**element, "ValidationErrors": [{"Message": m} for m in outcome.errors]})
            for element, outcome in failures
        ]
    )


def _upsert_target(spec: ResourceSpec, store: OrganisationStore, element: dict[str, Any]) -> dict[str, Any] | None:
    """POST updates: by the key, else by the resource's natural keys (NOTES.md "Writes")."""
    if element.get(spec.key):
        return _find(spec, store, str(element[spec.key]))
    for field_name in spec.upsert_on:
        value = element.get(field_name)
        if not value:
            continue
        candidates = [
            r
            for r in store.tables[spec.name].values()
            if str(r.get(field_name, "")).strip().lower() == str(value).strip().lower()
            and r.get("ContactStatus", "ACTIVE") == "ACTIVE"
        ]
        if candidates:
            return candidates[0]
    return None


def _delete(
    ctx: RequestContext, request: Request, spec: ResourceSpec, store: OrganisationStore, record: dict[str, Any]
) -> Response:
    wc = WriteContext(store=store, now=ctx.now(), client_id=ctx.app.client_id)
    with store.lock:
        if spec.name == "Accounts":
            if entities.account_in_use(store, record):
                return _error(
                    request,
                    _validation(
                        [
                            (
                                entities.render_account(store, record, True),
                                Outcome(
                                    None, ["This account has transactions and cannot be deleted; archive it instead."]
                                ),
                            )
                        ]
                    ),
                )
            record["Status"] = "DELETED"
            record["UpdatedDateUTC"] = wc.now
            return envelope(ctx, request, spec.name, [_view(spec, store, record, full=True)])
        del store.tables[spec.name][record[spec.key]]
    return Response(b"", status=204)


def _allocate(ctx: RequestContext, request: Request, store: OrganisationStore, credit_note: dict[str, Any]) -> Response:
    spec = ResourceSpec(
        "Allocations", "Allocation", "AllocationID", None, entities.render_tax_rate, {}, frozenset(), frozenset()
    )
    elements = _elements(request, spec)
    wc = WriteContext(store=store, now=ctx.now(), client_id=ctx.app.client_id)
    with store.lock:
        outcomes = [(element, entities.allocate_credit_note(wc, credit_note, element)) for element in elements]
    _emit(ctx, wc)
    failures = [(e, o) for e, o in outcomes if o.errors]
    if failures:
        return _error(request, _validation(failures))
    return envelope(ctx, request, "Allocations", [o.record for _, o in outcomes if o.record])


def _emit(ctx: RequestContext, wc: WriteContext) -> None:
    seen: set[str] = set()
    for category, event_type, table, resource_id in wc.events:
        if category not in WEBHOOK_CATEGORIES or resource_id in seen:
            continue
        seen.add(resource_id)
        ctx.events.emit(
            tenant_id=str(ctx.organisation.tenant_id),
            tenant_type=ctx.organisation.tenant_type,
            category=category,
            event_type=event_type,
            resource_id=resource_id,
            resource_url=f"{ctx.api_base_url}/api.xro/2.0/{table}/{resource_id}",
            when=wc.now,
        )


# ====================================================================================================== attachments


def _attachment_view(
    ctx: RequestContext, spec: ResourceSpec, record: dict[str, Any], attachment: dict[str, Any]
) -> dict[str, Any]:
    url = f"{ctx.api_base_url}/api.xro/2.0/{spec.name}/{record[spec.key]}/Attachments/{attachment['FileName']}"
    return {**{k: v for k, v in attachment.items() if not k.startswith("_")}, "Url": url}


def _attachment_get(
    ctx: RequestContext,
    request: Request,
    spec: ResourceSpec,
    store: OrganisationStore,
    record: dict[str, Any],
    name: str | None,
) -> Response:
    with store.lock:
        files = list(store.attachments.get((spec.name, record[spec.key]), []))
    if name is None:
        return envelope(ctx, request, "Attachments", [_attachment_view(ctx, spec, record, a) for a in files])
    wanted = guid(name)
    match = next((a for a in files if a["AttachmentID"] == wanted or a["FileName"].lower() == name.lower()), None)
    if match is None:
        return not_found()
    # The file itself, with its own content type (pyxero treats any non-JSON answer as the file).
    return Response(match["_content"], status=200, content_type=match["MimeType"])


def _attachment_put(
    ctx: RequestContext,
    request: Request,
    spec: ResourceSpec,
    store: OrganisationStore,
    record: dict[str, Any],
    name: str,
) -> Response:
    content = request.get_data()
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise ApiError(
            api_exception(
                413, 17, "PostDataInvalidException", f"An attachment may be at most {MAX_ATTACHMENT_BYTES} bytes."
            )
        )
    include_online = _flag(request, "IncludeOnline")
    errors: list[str] = []
    if not content:
        errors.append("The attachment is empty.")
    if include_online and record.get("Type") not in ("ACCREC", "ACCRECCREDIT"):
        errors.append("IncludeOnline is only allowed on sales invoices and credit notes.")
    with store.lock:
        files = store.attachments.setdefault((spec.name, record[spec.key]), [])
        existing = next((a for a in files if a["FileName"].lower() == name.lower()), None)
        if existing is None and len(files) >= MAX_ATTACHMENTS:
            errors.append(f"A document can have at most {MAX_ATTACHMENTS} attachments.")
        if errors:
            return _error(request, _validation([({"FileName": name}, Outcome(None, errors))]))
        attachment = {
            "AttachmentID": existing["AttachmentID"] if existing else str(uuid.uuid4()),
            "FileName": name,
            "MimeType": (request.content_type or "application/octet-stream").split(";")[0],
            "ContentLength": len(content),
            "IncludeOnline": include_online,
            "_content": content,
        }
        # Uploading under a file name already used replaces that file (NOTES.md "Attachments").
        if existing is not None:
            files[files.index(existing)] = attachment
        else:
            files.append(attachment)
        record["HasAttachments"] = True
    return envelope(ctx, request, "Attachments", [_attachment_view(ctx, spec, record, attachment)])


# ====================================================================================================== idempotency


def _idempotent(
    ctx: RequestContext, request: Request, store: OrganisationStore, handler: Callable[[], Response]
) -> Response:
    """Idempotency-Key: the first answer is replayed for the same request (NOTES.md "Idempotency")."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return _run(request, handler)
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        return _error(
            request,
            api_exception(
                400, 10, "ValidationException", f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters."
            ),
        )
    fingerprint = hashlib.sha256(
        b"\n".join([request.method.encode(), request.path.lower().encode(), request.query_string, request.get_data()])
    ).hexdigest()
    with store.lock:
        now = ctx.now()
        store.prune_idempotency(now, ctx.idempotency_ttl_seconds)
        stored = store.idempotency.get((ctx.app.client_id, key))
        if stored is not None:
            if stored.fingerprint != fingerprint:
                return _error(
                    request,
                    api_exception(
                        400, 10, "ValidationException", f"Idempotency key '{key}' is used with a different request."
                    ),
                )
            ctx.counters.incr("idempotent_replays")
            return Response(
                stored.body,
                status=stored.status,
                content_type=stored.content_type,
                headers={"Cache-Control": "max-age=0, no-cache, no-store"},
            )
        # Held under the store lock: a concurrent retry with the same key waits and then replays.
        response = _run(request, handler)
        store.idempotency[(ctx.app.client_id, key)] = StoredResponse(
            fingerprint=fingerprint,
            status=response.status_code,
            body=response.get_data(),
            content_type=response.content_type or "application/json",
            stored_at=now,
        )
        return response


def _run(request: Request, handler: Callable[[], Response]) -> Response:
    try:
        return handler()
    except ApiError as exc:
        return _error(request, exc.response)


# ====================================================================================================== organisation


def organisation_view(ctx: RequestContext) -> dict[str, Any]:
    org = ctx.organisation
    store = org.store
    versions = {"GB": "UK", "AU": "AU", "NZ": "NZ", "US": "US"}
    timezones = {"GB": "GMTSTANDARDTIME", "AU": "AUSEASTERNSTANDARDTIME", "NZ": "NEWZEALANDSTANDARDTIME"}
    view: dict[str, Any] = {
        "OrganisationID": str(org.tenant_id),
        "Name": org.name,
        "LegalName": store.legal_name,
        "PaysTax": True,
        "Version": versions.get(org.country_code, "GLOBAL"),
        "OrganisationType": "COMPANY",
        "BaseCurrency": org.base_currency,
        "CountryCode": org.country_code,
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": store.year_end_day,
        "FinancialYearEndMonth": store.year_end_month,
        "SalesTaxBasis": "ACCRUALS",
        "SalesTaxPeriod": "QUARTERLY",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": org.created,
        "OrganisationEntityType": "COMPANY",
        "Timezone": timezones.get(org.country_code, "UTC"),
        "ShortCode": "!" + str(org.tenant_id).replace("-", "")[:5],
        "Edition": "BUSINESS",
        "Class": "STANDARD",
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {},
    }
    if store.period_lock_date is not None:
        view["PeriodLockDate"] = store.period_lock_date
    # "Shown if set" (OAS Organisation): absent until the organisation enters them.
    if store.tax_number:
        view["TaxNumber"] = store.tax_number
    if store.registration_number:
        view["RegistrationNumber"] = store.registration_number
    return view


def _organisation(ctx: RequestContext, request: Request, segments: list[str]) -> Response:
    if not (ctx.scopes & _READ_SETTINGS):
        from connectors.xero.sandbox.errors import unauthorized

        return unauthorized("AuthorizationUnsuccessful")
    if len(segments) > 2 or (len(segments) == 2 and segments[1].lower() != "actions"):
        return not_found()
    if request.method != "GET":
        # NOTES.md "Errors": an unsupported operation is a 501 with an XML Message (pyxero parses XML here).
        body = xmlio.render(
            "ApiException",
            {
                "ErrorNumber": 20,
                "Type": "NotImplementedException",
                "Message": "The Api Method called is not implemented",
            },
        )
        return Response(body, status=501, content_type="text/xml; charset=utf-8")
    if len(segments) == 2:
        actions = [
            {"Name": name, "Status": "ALLOWED"}
            for name in (
                "UseMulticurrency",
                "CreateApprovedInvoice",
                "CreateDraftInvoice",
                "CreateApprovedBill",
                "CreateDraftBill",
                "CreateApprovedPayment",
            )
        ]
        return envelope(ctx, request, "Actions", actions)
    return envelope(ctx, request, "Organisations", [organisation_view(ctx)])
