"""Exact's write rules per entity: body coercion, required fields, references, defaults, computed amounts."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

from connectors.exact.sandbox.entities import CAPTIONS, DOCUMENT_TYPES, ENTITY_SETS, EntitySet
from connectors.exact.sandbox.odata import (
    INTEGER_TYPES,
    ODataError,
    normalize_guid,
    parse_datetime_value,
    round_money,
)
from connectors.exact.sandbox.store import LINE_PARENTS, TABLE_KEYS, DivisionStore

STREAM_ERROR = "Error processing request stream. The request should be a valid top-level resource object."
DEFAULT_SALES_JOURNAL = "70"  # Omitted Journal falls back to the default sales journal (picqer #287).
DEFAULT_VAT_CODE = "2"  # 21% "VH" sales, excluding VAT.
DEFAULT_REVENUE_GL = "8000"
DEBTORS_GL = "1300"
CREDITORS_GL = "1600"
PURCHASE_JOURNAL_TYPE = 22  # Journal.Type 22 = Purchase (reference list of journal types)
PURCHASE_ENTRY, PURCHASE_CREDIT_NOTE = 30, 31  # PurchaseEntries.Type (reference)
SALES_ENTRY, SALES_CREDIT_NOTE = 20, 21  # SalesEntries.Type (reference)
GENERAL_JOURNAL_TYPE = 90  # Journal.Type 90 = General journal (the same list)
DEFAULT_PAYMENT_DAYS = 30
# KB Restrictions: a POST may be at most 10.0 MB, and for binaries the limit applies to the binary size, not to
# its base64 text (NOTES.md: Documents).
MAX_BINARY_BYTES = 10 * 1024 * 1024
# Topics a subscription may use (NOTES.md: Webhooks; the authoritative list is UNCONFIRMED).
WEBHOOK_TOPICS = frozenset(
    {
        "Accounts", "Contacts", "BankAccounts", "Items", "StockPositions", "SalesInvoices", "SalesEntries",
        "SalesOrders", "GoodsDeliveries", "Quotations", "Subscriptions", "PurchaseEntries", "PurchaseOrders",
        "BankEntries", "CashEntries", "GeneralJournalEntries", "FinancialTransactions", "GLAccounts",
        "Documents", "CostTransactions", "TimeTransactions",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Actor:
    """Who writes and when (wall-clock Amsterdam time, as Exact stores it)."""

    user_id: str | None
    full_name: str | None
    now: datetime
    client_id: str | None = None
    app_name: str | None = None


@dataclass
class WriteResult:
    """The record a write produced and the webhook events it causes (topic, action, path, key)."""

    key: Any
    record: dict[str, Any] | None = None
    events: list[tuple[str, str, str, str]] = field(default_factory=list)
    subscription: dict[str, Any] | None = None
    deleted_subscription: str | None = None
    # (before, after) of a subscription a PUT changed.
    changed_subscription: tuple[dict[str, Any], dict[str, Any]] | None = None


def required(caption_field: str) -> str:
    return f"Verplicht: {CAPTIONS.get(caption_field, caption_field)}"


def invalid_reference(caption_field: str) -> str:
    return f"Ongeldige referentie: {CAPTIONS.get(caption_field, caption_field)}"


def reference_error(fields: list[str]) -> ODataError:
    # Exact answers a GUID that points nowhere with HTTP 500 "Ongeldige referentie: …" (picqer #249).
    return ODataError([invalid_reference(f) for f in fields], status=500)


# ------------------------------------------------------------------------------------------ coercion


# Read-only in the reference but honoured on POST: an invoice may be created as a draft (Status 10).
_POSTABLE_READ_ONLY = {"salesinvoice/SalesInvoices": frozenset({"Status"})}


def coerce_body(entity: EntitySet, body: Any, *, method: str) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Typed values of the body's writable properties, plus its line collections.

    Read-only properties (G in the reference) are dropped, and so are GP-only properties on PUT: Exact keeps
    the stored value (the sandbox ignores such a change rather than failing, like Exact ignores G fields).
    """
    if not isinstance(body, dict):
        raise ODataError(STREAM_ERROR)
    properties = entity.property_map
    values: dict[str, Any] = {}
    lines: dict[str, list[Any]] = {}
    for name in entity.navigations:
        raw = body.get(name)
        # A lines collection sent as an object instead of an array (picqer #117, #277).
        if raw is not None and (not isinstance(raw, list) or not all(isinstance(line, dict) for line in raw)):
            raise ODataError(STREAM_ERROR)
        if raw is not None:
            lines[name] = raw
    extra = _POSTABLE_READ_ONLY.get(entity.path, frozenset()) if method == "POST" else frozenset()
    for name, raw in body.items():
        if name == "__metadata":
            continue
        prop = properties.get(name)
        if prop is None:
            raise ODataError(
                f"The property '{name}' does not exist on type '{entity.type_name}'. "
                "Make sure to only use property names that are defined by the type."
            )
        if prop.is_navigation:
            continue
        if prop.pk and method == "PUT":
            continue
        if method == "POST" and not prop.postable and not prop.pk and name not in extra:
            continue
        if method == "PUT" and not prop.updatable:
            continue
        values[name] = coerce_value(name, prop.edm, raw)
    return values, lines


def coerce_value(name: str, edm: str, raw: Any) -> Any:
    if raw is None:
        return None
    try:
        if edm == "Edm.Guid":
            return normalize_guid(raw)
        if edm == "Edm.DateTime":
            return parse_datetime_value(raw)
        if edm == "Edm.Boolean":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in ("true", "false"):
                return raw.lower() == "true"
            raise ValueError(raw)
        if edm in INTEGER_TYPES:
            if isinstance(raw, bool):
                raise ValueError(raw)
            return int(raw)
        if edm in ("Edm.Double", "Edm.Decimal", "Edm.Single"):
            if isinstance(raw, bool):
                raise ValueError(raw)
            return float(raw)
        if edm == "Edm.String":
            if isinstance(raw, dict | list):
                raise ValueError(raw)
            return str(raw)
        if edm == "Edm.Binary":
            return _binary(name, raw)
        return raw
    except (ValueError, TypeError):
        raise ODataError(
            f"Error processing request stream. Cannot convert the value of property '{name}' to {edm}."
        ) from None


def _binary(name: str, raw: Any) -> str:
    """An Edm.Binary value: base64 text only (picqer#178: raw file bytes are refused with this very message)."""
    try:
        if not isinstance(raw, str):
            raise ValueError(raw)
        decoded = base64.b64decode(raw, validate=True)
    except (ValueError, binascii.Error):
        raise ODataError(
            "Error processing request stream. Error encountered in converting the value from request payload for "
            f"property '{name}' to type 'Byte[]'"
        ) from None
    return base64.b64encode(decoded).decode("ascii")


def _money(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


# ------------------------------------------------------------------------------------------ shared pieces


def _stamp_create(values: dict[str, Any], actor: Actor, store: DivisionStore) -> None:
    values.update(
        Created=actor.now,
        Creator=actor.user_id,
        CreatorFullName=actor.full_name,
        Modified=actor.now,
        Modifier=actor.user_id,
        ModifierFullName=actor.full_name,
    )


def _stamp_update(values: dict[str, Any], actor: Actor) -> None:
    values.update(Modified=actor.now, Modifier=actor.user_id, ModifierFullName=actor.full_name)


def _check_required(values: dict[str, Any], names: list[str]) -> list[str]:
    return [required(n) for n in names if values.get(n) in (None, "")]


def _unique_code(store: DivisionStore, table: str, code: str, own_key: str | None = None) -> None:
    existing = store.tables[table].by_code(code)
    if existing is not None and existing != own_key:
        raise ODataError(f"Bestaat reeds: Code ({code.strip()})")


def pad_account_code(code: str) -> str:
    """Accounts.Code: "Unique key, fixed length numeric string with leading spaces, length 18" (reference)."""
    stripped = code.strip()
    if len(stripped) > 18:
        raise ODataError("Code: maximaal 18 tekens")
    return stripped.rjust(18)


def next_account_code(store: DivisionStore) -> str:
    code_of = store.tables["Accounts"].getter("Code")
    highest = 0
    for row in store.tables["Accounts"].rows.values():
        code = code_of(row)
        if code and code.strip().isdigit():
            highest = max(highest, int(code))
    return pad_account_code(str(highest + 1))


# ------------------------------------------------------------------------------------------ create / update


def create(store: DivisionStore, entity: EntitySet, body: Any, actor: Actor) -> WriteResult:
    """POST on a crud entity set."""
    values, lines = coerce_body(entity, body, method="POST")
    handler = _CREATE.get(entity.path)
    if handler is None:
        raise ODataError("Method not allowed", status=405)
    return handler(store, entity, values, lines, actor)


def _refuse_taken(store: DivisionStore, table: str, keys: list[Any]) -> None:
    """Client-chosen keys must be new (the store never overwrites); checked before anything is stored."""
    seen: set[Any] = set()
    for key in keys:
        if key and (key in store.tables[table].rows or key in seen):
            raise ODataError(f"Bestaat reeds: {TABLE_KEYS[table]}")
        seen.add(key)


def _generic_insert(
    store: DivisionStore, entity: EntitySet, values: dict[str, Any], actor: Actor, topic_path: str | None = None
) -> WriteResult:
    assert entity.table is not None
    key_name = entity.key
    values[key_name] = values.get(key_name) or str(uuid4())
    if store.tables[entity.table].rows.get(values[key_name]) is not None:
        raise ODataError(f"Bestaat reeds: {key_name}")
    _stamp_create(values, actor, store)
    record = store.insert(entity.table, values)
    events = [(entity.topic, "Create", topic_path or entity.path, values[key_name])] if entity.topic else []
    return WriteResult(values[key_name], record, events)


def _create_account(store, entity, values, lines, actor) -> WriteResult:  # type: ignore[no-untyped-def]
    errors = _check_required(values, ["Name"])
    if errors:
        raise ODataError(errors)
    values["Code"] = pad_account_code(values["Code"]) if values.get("Code") else next_account_code(store)
    _unique_code(store, "Accounts", values["Code"])
    _check_vat_codes(store, values, ["SalesVATCode", "PurchaseVATCode"])
    _check_refs(store, values, {"InvoiceAccount": "Accounts", "Parent": "Accounts", "MainContact": "Contacts"})
    if values.get("Country"):
        values["Country"] = values["Country"].upper()
    return _generic_insert(store, entity, values, actor)


def _create_contact(store, entity, values, lines, actor) -> WriteResult:  # type: ignore[no-untyped-def]
    errors = _check_required(values, ["Account"])
    if not values.get("FirstName") and not values.get("LastName"):
        # Reference: "Provide at least first name or last name to create a new contact".
        errors.append("Verplicht: Voornaam of Achternaam")
    if errors:
        raise ODataError(errors)
    _check_refs(store, values, {"Account": "Accounts"})
    return _generic_insert(store, entity, values, actor)


def _create_coded(mandatory: list[str], table: str):  # type: ignore[no-untyped-def]
    def handler(store, entity, values, lines, actor) -> WriteResult:  # type: ignore[no-untyped-def]
        errors = _check_required(values, mandatory)
        if errors:
            raise ODataError(errors)
        values["Code"] = str(values["Code"]).strip()
        _unique_code(store, table, values["Code"])
        if table == "Items":
            values.setdefault("IsSalesItem", True)
            _check_refs(store, values, {"GLRevenue": "GLAccounts", "GLCosts": "GLAccounts"})
            _check_vat_codes(store, values, ["SalesVatCode"])
        elif table == "GLAccounts":
            values.setdefault("BalanceType", "W")
            values.setdefault("BalanceSide", "C" if values.get("BalanceType") == "W" else "D")
            _check_vat_codes(store, values, ["VATCode"])
        elif table == "VATCodes":
            _check_refs(store, values, {"GLToPay": "GLAccounts", "GLToClaim": "GLAccounts"})
            values.setdefault("Type", "E")
            values.setdefault("VATTransactionType", "B")
            # Percentage is read-only in the reference (set through VATPercentages): new codes read 0.
            values.setdefault("Percentage", 0.0)
            result = _generic_insert(store, entity, values, actor)
            percentage = {"ID": str(uuid4()), "VATCodeID": result.key, "LineNumber": 1, "Percentage": 0.0, "Type": 0}
            _stamp_create(percentage, actor, store)
            store.insert("VatPercentages", percentage)
            return result
        elif table == "Journals":
            values.setdefault("Type", 90)
            _check_refs(store, values, {"GLAccount": "GLAccounts"})
        return _generic_insert(store, entity, values, actor)

    return handler


def _check_refs(store: DivisionStore, values: dict[str, Any], refs: dict[str, str]) -> None:
    broken = [name for name, table in refs.items() if values.get(name) and values[name] not in store.tables[table].rows]
    if broken:
        raise reference_error(broken)


def _check_vat_codes(store: DivisionStore, values: dict[str, Any], names: list[str]) -> None:
    broken = [n for n in names if values.get(n) and store.tables["VATCodes"].by_code(values[n]) is None]
    if broken:
        raise reference_error(["VATCode" for _ in broken])


def _check_journal(store: DivisionStore, code: str, journal_type: int) -> None:
    key = store.tables["Journals"].by_code(code)
    if key is None or store.tables["Journals"].value(key, "Type") != journal_type:
        # A wrong Journal gives "Ongeldige referentie: Journals" (picqer #31).
        raise reference_error(["Journal"])


# ------------------------------------------------------------------------------------------ sales invoices


def _invoice_line_values(
    store: DivisionStore, line: dict[str, Any], account_vat: str | None
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Defaults and amounts of one invoice line; returns (values, missing, broken references)."""
    missing: list[str] = []
    broken: list[str] = []
    item_key = line.get("Item")
    items = store.tables["Items"]
    if not item_key:
        missing.append(required("Item"))
        return line, missing, broken
    if item_key not in items.rows:
        broken.append("Item")
        return line, missing, broken
    item = items.get(item_key) or {}
    gl_key = line.get("GLAccount") or item.get("GLRevenue") or store.tables["GLAccounts"].by_code(DEFAULT_REVENUE_GL)
    if gl_key is None or gl_key not in store.tables["GLAccounts"].rows:
        broken.append("GLAccount")
    vat_code = line.get("VATCode") or item.get("SalesVatCode") or account_vat or DEFAULT_VAT_CODE
    vat_key = store.tables["VATCodes"].by_code(vat_code)
    if vat_key is None:
        broken.append("VATCode")
        return line, missing, broken
    percentage = store.tables["VATCodes"].value(vat_key, "Percentage") or 0.0
    line = apply_line_amounts(line, percentage, item.get("StandardSalesPrice"))
    line.update(GLAccount=gl_key, VATCode=vat_code)
    return line, missing, broken


def apply_line_amounts(line: dict[str, Any], percentage: float, default_price: float | None) -> dict[str, Any]:
    """Quantity x net price rounded half-up to cents per line, then VAT on that amount (Decimal maths)."""
    quantity = _money(line.get("Quantity") if line.get("Quantity") is not None else 1)
    discount = _money(line.get("Discount"))
    if line.get("UnitPrice") is None and line.get("AmountFC") is not None and line.get("NetPrice") is None:
        amount = round_money(_money(line["AmountFC"]))
        unit_price = amount / quantity if quantity else amount
        net_price = unit_price
    else:
        unit_price = _money(line["UnitPrice"] if line.get("UnitPrice") is not None else default_price)
        net_price = _money(line["NetPrice"]) if line.get("NetPrice") is not None else unit_price * (1 - discount)
        amount = round_money(quantity * net_price)
    vat = round_money(amount * _money(percentage))
    return {
        **line,
        "Quantity": float(quantity),
        "UnitPrice": float(unit_price),
        "NetPrice": float(round_money(net_price)) if net_price != unit_price else float(unit_price),
        "AmountFC": float(amount),
        "VATAmountFC": float(vat),
        "VATPercentage": float(percentage),
    }


def _invoice_totals(store: DivisionStore, invoice_id: str) -> dict[str, Any]:
    lines = store.tables["SalesInvoiceLines"]
    amount_of, vat_of = lines.getter("AmountFC"), lines.getter("VATAmountFC")
    excl = sum((_money(amount_of(lines.rows[k])) for k in store.children("SalesInvoiceLines", invoice_id)), Decimal(0))
    vat = sum((_money(vat_of(lines.rows[k])) for k in store.children("SalesInvoiceLines", invoice_id)), Decimal(0))
    return {"AmountFCExclVat": float(excl), "VATAmountFC": float(vat), "AmountFC": float(excl + vat)}


def _restamp_invoice(store: DivisionStore, invoice_id: str, actor: Actor | None) -> None:
    """Recompute header totals and give the invoice and each of its lines a new Timestamp.

    sync/SalesInvoice/SalesInvoices is one row per line carrying header fields, so any change to the invoice
    or one of its lines must move all of its rows past the client's stored Timestamp.
    """
    changes = _invoice_totals(store, invoice_id)
    if actor is not None:
        _stamp_update(changes, actor)
    store.update("SalesInvoices", invoice_id, changes)
    for line_key in list(store.children("SalesInvoiceLines", invoice_id)):
        store.touch("SalesInvoiceLines", line_key)


def insert_invoice(
    store: DivisionStore, header: dict[str, Any], lines: list[dict[str, Any]], actor: Actor
) -> dict[str, Any]:
    """Store a validated invoice with computed lines (also the seeding path; no validation here)."""
    invoice_id = header["InvoiceID"]
    header["InvoiceNumber"] = store.next_invoice_number()
    _stamp_create(header, actor, store)
    excl = vat = Decimal(0)
    header_ts_placeholder = header
    for number, line in enumerate(lines, start=1):
        line["ID"] = line.get("ID") or str(uuid4())
        line["InvoiceID"] = invoice_id
        line["LineNumber"] = number
        excl += _money(line["AmountFC"])
        vat += _money(line["VATAmountFC"])
    header_ts_placeholder.update(AmountFCExclVat=float(excl), VATAmountFC=float(vat), AmountFC=float(excl + vat))
    record = store.insert("SalesInvoices", header)
    for line in lines:
        store.insert("SalesInvoiceLines", line)
    return record


def _create_invoice(store, entity, values, lines, actor) -> WriteResult:  # type: ignore[no-untyped-def]
    errors: list[str] = []
    if not values.get("OrderedBy"):
        if not values.get("InvoiceTo"):
            # Neither party: Exact names both, InvoiceTo first (picqer #10: "Verplicht: Factuur voor\r\n…").
            errors.append(required("InvoiceTo"))
        errors.append(required("OrderedBy"))
    values.setdefault("InvoiceTo", values.get("OrderedBy"))
    values.setdefault("DeliverTo", values.get("OrderedBy"))
    raw_lines = lines.get("SalesInvoiceLines", [])
    if not raw_lines:
        # Reference (NOTES.md: Entities): "You must include a parameter for 'SalesInvoiceLines' … when you POST"
        # (picqer #117 lists the lines among the required fields).
        errors.append(required("SalesInvoiceLines"))
    line_entity = ENTITY_SETS["salesinvoice/SalesInvoiceLines"]
    typed_lines = [coerce_body(line_entity, line, method="POST")[0] for line in raw_lines]
    broken = [
        n
        for n in ("OrderedBy", "InvoiceTo", "DeliverTo")
        if values.get(n) and values[n] not in store.tables["Accounts"].rows
    ]
    account_vat = None
    if values.get("InvoiceTo") in store.tables["Accounts"].rows:
        account_vat = store.tables["Accounts"].value(values["InvoiceTo"], "SalesVATCode")
    computed: list[dict[str, Any]] = []
    for line in typed_lines:
        line_values, line_missing, line_broken = _invoice_line_values(store, line, account_vat)
        errors.extend(line_missing)
        broken.extend(line_broken)
        computed.append(line_values)
    if errors:
        raise ODataError(errors)
    values["Journal"] = values.get("Journal") or DEFAULT_SALES_JOURNAL
    if store.tables["Journals"].by_code(values["Journal"]) is None:
        broken.append("Journal")
    if broken:
        raise reference_error(list(dict.fromkeys(broken)))
    _check_journal(store, values["Journal"], 20)
    _complete_invoice_header(store, values, actor)
    values["InvoiceID"] = values.get("InvoiceID") or str(uuid4())
    if values["InvoiceID"] in store.tables["SalesInvoices"].rows:
        raise ODataError("Bestaat reeds: InvoiceID")
    _refuse_taken(store, "SalesInvoiceLines", [line.get("ID") for line in computed])
    record = insert_invoice(store, values, computed, actor)
    return WriteResult(values["InvoiceID"], record, [("SalesInvoices", "Create", entity.path, values["InvoiceID"])])


def _complete_invoice_header(store: DivisionStore, values: dict[str, Any], actor: Actor) -> None:
    today = actor.now.replace(hour=0, minute=0, second=0, microsecond=0)
    # Status is read-only in the reference, but a draft (10) may be requested; anything else opens (20).
    values["Status"] = 10 if values.get("Status") == 10 else 20
    values["Type"] = values.get("Type") or 8020
    if values["Type"] not in (8020, 8021):
        raise ODataError("Ongeldige waarde: Type (8023/8024 vereisen Wholesale & Distribution)")
    values["Currency"] = values.get("Currency") or store.currency
    values["InvoiceDate"] = today
    values.setdefault("OrderDate", today)
    values["PaymentCondition"] = values.get("PaymentCondition") or str(DEFAULT_PAYMENT_DAYS)
    if values.get("DueDate") is None:
        values["DueDate"] = today + timedelta(days=DEFAULT_PAYMENT_DAYS)


def _create_invoice_line(store, entity, values, lines, actor) -> WriteResult:  # type: ignore[no-untyped-def]
    errors = _check_required(values, ["InvoiceID", "Item"])
    if errors:
        raise ODataError(errors)
    invoice_id = values["InvoiceID"]
    if invoice_id not in store.tables["SalesInvoices"].rows:
        raise reference_error(["InvoiceID"])
    _refuse_processed(store, invoice_id)
    account_vat = store.tables["Accounts"].value(
        store.tables["SalesInvoices"].value(invoice_id, "InvoiceTo") or "", "SalesVATCode"
    )
    line, _missing, broken = _invoice_line_values(store, values, account_vat)
    if broken:
        raise reference_error(broken)
    _refuse_taken(store, "SalesInvoiceLines", [line.get("ID")])
    line["ID"] = line.get("ID") or str(uuid4())
    line["LineNumber"] = len(store.children("SalesInvoiceLines", invoice_id)) + 1
    _stamp_create(line, actor, store)
    record = store.insert("SalesInvoiceLines", line)
    _restamp_invoice(store, invoice_id, actor)
    return WriteResult(line["ID"], record, [("SalesInvoices", "Update", "salesinvoice/SalesInvoices", invoice_id)])


def _refuse_processed(store: DivisionStore, invoice_id: str) -> None:
    if store.tables["SalesInvoices"].value(invoice_id, "Status") == 50:
        # Status 50 = processed: "can't be changed or reopened" (reference).
        raise ODataError("Factuur is verwerkt en kan niet meer worden gewijzigd")


# ------------------------------------------------------------------------------------------ sales entries


def _create_sales_entry(store, entity, values, lines, actor) -> WriteResult:  # type: ignore[no-untyped-def]
    typed = _checked_entry(store, values, lines, party="Customer", lines_name="SalesEntryLines", journal_type=20)
    _refuse_taken(store, "SalesEntries", [values.get("EntryID")])
    _refuse_taken(store, "SalesEntryLines", [line.get("ID") for line in typed])
    entry = book_sales_entry(store, values, typed, actor)
    return WriteResult(entry["EntryID"], entry, [("SalesEntries", "Create", entity.path, entry["EntryID"])])


_ENTRY_LINE_SETS = {
    "SalesEntryLines": "salesentry/SalesEntryLines",
    "PurchaseEntryLines": "purchaseentry/PurchaseEntryLines",
}


def _checked_entry(
    store: DivisionStore,
    values: dict[str, Any],
    lines: dict[str, list[Any]],
    *,
    party: str,
    lines_name: str,
    journal_type: int,
) -> list[dict[str, Any]]:
    """The typed lines of a sales or purchase entry POST, after the rules both share: the party (Customer or
    Supplier), Journal and lines with AmountFC and GLAccount are required; references must exist; the journal must
    be of the entry's type."""
    errors = _check_required(values, [party, "Journal"])
    raw_lines = lines.get(lines_name, [])
    if not raw_lines:
        errors.append(required(lines_name))
    line_entity = ENTITY_SETS[_ENTRY_LINE_SETS[lines_name]]
    typed = [coerce_body(line_entity, line, method="POST")[0] for line in raw_lines]
    for line in typed:
        errors.extend(_check_required(line, ["AmountFC", "GLAccount"]))
    if errors:
        raise ODataError(errors)
    broken = []
    if values[party] not in store.tables["Accounts"].rows:
        broken.append(party)
    if store.tables["Journals"].by_code(values["Journal"]) is None:
        broken.append("Journal")
    for line in typed:
        if line["GLAccount"] not in store.tables["GLAccounts"].rows:
            broken.append("GLAccount")
        if line.get("VATCode") and store.tables["VATCodes"].by_code(line["VATCode"]) is None:
            broken.append("VATCode")
    if broken:
        raise reference_error(list(dict.fromkeys(broken)))
    _check_journal(store, values["Journal"], journal_type)
    return typed


def _book_entry(
    store: DivisionStore,
    tables: tuple[str, str],
    header: dict[str, Any],
    lines: list[dict[str, Any]],
    actor: Actor,
    *,
    status: int,
    entry_type: int,
    credit_type: int | None = None,
    line_extra: tuple[str, ...] = (),
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Store an entry header and its lines (tables: header table, lines table) and return both as stored.

    A line without VATCode takes its G/L account's VAT code (reference: "it will use the default VAT code of the
    G/L account"); without VATAmountFC the VAT is AmountFC x the code's percentage, rounded to cents per line.
    `line_extra` names further base-amount fields that repeat AmountFC (VATBaseAmountDC on sales entry lines).
    With `credit_type`, an entry whose amount (VAT included) is negative is a credit note of that type (Type is
    GET-only; the reference: "In case of a credit invoice the amount should have negative value when ... posted")."""
    header_table, lines_table = tables
    today = actor.now.replace(hour=0, minute=0, second=0, microsecond=0)
    entry_id = header.get("EntryID") or str(uuid4())
    header = {**header, "EntryID": entry_id}
    header.setdefault("EntryDate", today)
    header.setdefault("Currency", store.currency)
    header.setdefault("DueDate", header["EntryDate"] + timedelta(days=DEFAULT_PAYMENT_DAYS))
    header["EntryNumber"] = header.get("EntryNumber") or store.next_invoice_number()
    if header_table == "SalesEntries":
        header.setdefault("InvoiceNumber", header["EntryNumber"])
    header["Status"] = status
    header["Type"] = entry_type
    header["ReportingYear"] = header.get("ReportingYear") or header["EntryDate"].year
    header["ReportingPeriod"] = header.get("ReportingPeriod") or header["EntryDate"].month
    excl = vat = Decimal(0)
    stored_lines = []
    for number, line in enumerate(lines, start=1):
        line = dict(line)
        if line.get("VATCode") is None:
            line["VATCode"] = store.tables["GLAccounts"].value(line["GLAccount"], "VATCode")
        vat_key = store.tables["VATCodes"].by_code(line["VATCode"]) if line.get("VATCode") else None
        percentage = store.tables["VATCodes"].value(vat_key, "Percentage") if vat_key else 0.0
        amount = round_money(_money(line["AmountFC"]))
        line_vat = (
            round_money(_money(line["VATAmountFC"]))
            if line.get("VATAmountFC") is not None
            else round_money(amount * _money(percentage))
        )
        line.update(
            ID=line.get("ID") or str(uuid4()),
            EntryID=entry_id,
            LineNumber=number,
            AmountFC=float(amount),
            VATAmountFC=float(line_vat),
            VATPercentage=float(percentage or 0.0),
            VATBaseAmountFC=float(amount),
            Type=entry_type,
        )
        line.update(dict.fromkeys(line_extra, float(amount)))
        excl += amount
        vat += line_vat
        stored_lines.append(line)
    header.update(AmountFC=float(excl + vat), VATAmountFC=float(vat))
    if credit_type is not None and excl + vat < 0:
        header["Type"] = credit_type
        for line in stored_lines:
            line["Type"] = credit_type
    _stamp_create(header, actor, store)
    record = store.insert(header_table, header)
    for line in stored_lines:
        _stamp_create(line, actor, store)
        store.insert(lines_table, line)
    return record, stored_lines


def book_sales_entry(
    store: DivisionStore, header: dict[str, Any], lines: list[dict[str, Any]], actor: Actor, *, status: int = 20
) -> dict[str, Any]:
    """Store a sales entry (and its receivable); used by POST SalesEntries and by invoice processing. Type 20, or 21
    (a sales credit note) when its amount is negative, as a processed credit note (SalesInvoices Type 8021) books."""
    record, stored_lines = _book_entry(
        store,
        ("SalesEntries", "SalesEntryLines"),
        header,
        lines,
        actor,
        status=status,
        entry_type=SALES_ENTRY,
        credit_type=SALES_CREDIT_NOTE,
        line_extra=("VATBaseAmountDC",),
    )
    _book_transaction_lines(store, record, stored_lines, actor)
    _create_receivable(store, record, actor)
    return record


def _book_transaction_lines(
    store: DivisionStore, entry: dict[str, Any], lines: list[dict[str, Any]], actor: Actor
) -> None:
    """The general-ledger lines a sales entry books (financialtransaction/TransactionLines, sync and bulk): revenue
    per entry line and VAT per VAT code as credits (negative), the debtor total as a debit (the entry's Type)."""
    common = {
        "EntryID": entry["EntryID"],
        "EntryNumber": entry.get("EntryNumber"),
        "InvoiceNumber": entry.get("InvoiceNumber"),
        "Date": entry.get("EntryDate"),
        "DueDate": entry.get("DueDate"),
        "FinancialYear": entry.get("ReportingYear"),
        "FinancialPeriod": entry.get("ReportingPeriod"),
        "JournalCode": entry.get("Journal"),
        "Currency": entry.get("Currency"),
        "ExchangeRate": 1.0,
        "YourRef": entry.get("YourRef"),
        "PaymentReference": entry.get("PaymentReference"),
        "Account": entry.get("Customer"),
        "Type": entry["Type"],
        "Status": entry.get("Status"),
    }
    booked: list[dict[str, Any]] = [
        {
            "GLAccount": store.tables["GLAccounts"].by_code(DEBTORS_GL),
            "AmountFC": entry["AmountFC"],
            "Description": entry.get("Description"),
            "LineType": 1,
        }
    ]
    vat_by_code: dict[str, Decimal] = {}
    for line in lines:
        booked.append(
            {
                "GLAccount": line["GLAccount"],
                "AmountFC": -line["AmountFC"],
                "AmountVATFC": -line["VATAmountFC"],
                "AmountVATBaseFC": -line["AmountFC"],
                "VATCode": line.get("VATCode"),
                "VATPercentage": line.get("VATPercentage"),
                "Description": line.get("Description"),
                "Quantity": line.get("Quantity"),
                "LineType": 0,
            }
        )
        if line.get("VATCode") and line["VATAmountFC"]:
            vat_by_code[line["VATCode"]] = vat_by_code.get(line["VATCode"], Decimal(0)) + _money(line["VATAmountFC"])
    vat_codes = store.tables["VATCodes"]
    for code, amount in vat_by_code.items():
        vat_key = vat_codes.by_code(code)
        booked.append(
            {
                "GLAccount": vat_codes.value(vat_key, "GLToPay") if vat_key else None,
                "AmountFC": -float(amount),
                "VATCode": code,
                "Description": vat_codes.value(vat_key, "Description") if vat_key else None,
                "LineType": 0,
            }
        )
    for number, values in enumerate(booked, start=1):
        values = {**common, **values, "ID": str(uuid4()), "LineNumber": number}
        values["AmountDC"] = values["AmountFC"]
        _stamp_create(values, actor, store)
        store.insert("TransactionLines", values)


def remove_transaction_lines(store: DivisionStore, entry_id: str, actor: Actor) -> None:
    table = store.tables["TransactionLines"]
    entry_of = table.getter("EntryID")
    for key in [key for key, row in table.rows.items() if entry_of(row) == entry_id]:
        store.remove("TransactionLines", key, deleted_by=actor.user_id, when=actor.now)


def _create_receivable(store: DivisionStore, entry: dict[str, Any], actor: Actor) -> None:
    amount = entry["AmountFC"]
    receivable = {
        "ID": str(uuid4()),
        "Account": entry["Customer"],
        "AmountFC": amount,
        "TransactionAmountFC": amount,
        "Currency": entry.get("Currency"),
        "Description": entry.get("Description"),
        "DueDate": entry.get("DueDate"),
        "TransactionDueDate": entry.get("DueDate"),
        "EntryDate": entry.get("EntryDate"),
        "EntryID": entry["EntryID"],
        "EntryNumber": entry.get("EntryNumber"),
        "InvoiceDate": entry.get("EntryDate"),
        "InvoiceNumber": entry.get("InvoiceNumber"),
        "IsFullyPaid": False,
        "Journal": entry.get("Journal"),
        "GLAccount": store.tables["GLAccounts"].by_code(DEBTORS_GL),
        "PaymentCondition": entry.get("PaymentCondition"),
        "PaymentDays": DEFAULT_PAYMENT_DAYS,
        "PaymentReference": entry.get("PaymentReference"),
        "Source": 1,
        "Status": 20,  # open
        "TransactionType": entry["Type"],  # 20 sales entry, 21 sales credit note
        "TransactionEntryID": entry["EntryID"],
        "TransactionReportingYear": entry.get("ReportingYear"),
        "TransactionReportingPeriod": entry.get("ReportingPeriod"),
        "YourRef": entry.get("YourRef"),
    }
    _stamp_create(receivable, actor, store)
    store.insert("Receivables", receivable)


def mark_receivable_paid(store: DivisionStore, receivable_id: str, *, when: datetime) -> None:
    """Settle a receivable in full (for the control API: Exact has no API to register a payment here)."""
    store.update("Receivables", receivable_id, {"IsFullyPaid": True, "LastPaymentDate": when, "Status": 50})


# ------------------------------------------------------------------------------------------ purchase entries


def _create_purchase_entry(store, entity, values, lines, actor) -> WriteResult:  # type: ignore[no-untyped-def]
    """POST PurchaseEntries (reference: Supplier, Journal and lines with AmountFC and GLAccount are mandatory)."""
    typed = _checked_entry(
        store,
        values,
        lines,
        party="Supplier",
        lines_name="PurchaseEntryLines",
        journal_type=PURCHASE_JOURNAL_TYPE,
    )
    _refuse_taken(store, "PurchaseEntries", [values.get("EntryID")])
    _refuse_taken(store, "PurchaseEntryLines", [line.get("ID") for line in typed])
    entry = book_purchase_entry(store, values, typed, actor)
    return WriteResult(entry["EntryID"], entry, [("PurchaseEntries", "Create", entity.path, entry["EntryID"])])


def book_purchase_entry(
    store: DivisionStore, header: dict[str, Any], lines: list[dict[str, Any]], actor: Actor
) -> dict[str, Any]:
    """Store an open purchase entry (Type 30, Status 20; Type 31, a purchase credit note, when its amount is
    negative) with its lines and its payable (cashflow/Payments)."""
    record, _ = _book_entry(
        store,
        ("PurchaseEntries", "PurchaseEntryLines"),
        header,
        lines,
        actor,
        status=20,
        entry_type=PURCHASE_ENTRY,
        credit_type=PURCHASE_CREDIT_NOTE,
    )
    _create_payable(store, record, actor)
    return record


def _create_payable(store: DivisionStore, entry: dict[str, Any], actor: Actor) -> None:
    """The open item of a purchase entry in cashflow/Payments (what is to be paid to the supplier)."""
    amount = entry["AmountFC"]
    payable = {
        "ID": str(uuid4()),
        "Account": entry["Supplier"],
        "AmountFC": amount,
        "TransactionAmountFC": amount,
        "Currency": entry.get("Currency"),
        "Description": entry.get("Description"),
        "DueDate": entry.get("DueDate"),
        "TransactionDueDate": entry.get("DueDate"),
        "EntryDate": entry.get("EntryDate"),
        "EntryID": entry["EntryID"],
        "EntryNumber": entry.get("EntryNumber"),
        "InvoiceDate": entry.get("EntryDate"),
        "Journal": entry.get("Journal"),
        "GLAccount": store.tables["GLAccounts"].by_code(CREDITORS_GL),
        "PaymentDays": DEFAULT_PAYMENT_DAYS,
        "Source": 1,
        "Status": 20,  # open
        "TransactionType": entry["Type"],  # 30 purchase entry, 31 purchase credit note
        "TransactionEntryID": entry["EntryID"],
        "TransactionReportingYear": entry.get("ReportingYear"),
        "TransactionReportingPeriod": entry.get("ReportingPeriod"),
        "YourRef": entry.get("YourRef"),
    }
    _stamp_create(payable, actor, store)
    store.insert("Payments", payable)


# ------------------------------------------------------------------------------------------ general journal entries


def _create_general_journal_entry(store, entity, values, lines, actor) -> WriteResult:  # type: ignore[no-untyped-def]
    """POST GeneralJournalEntries: JournalCode and lines with GLAccount and AmountFC (debit positive, credit
    negative); the journal must be a general journal (Type 90); the lines must balance (sandbox choice: the wording
    of Exact's refusal is UNCONFIRMED, README); a VATCode needs a journal with VAT enabled, which the sandbox's
    memorial journal is not (reference: "VATCode can only be used if the general journal has VAT enabled")."""
    errors = _check_required(values, ["JournalCode"])
    raw_lines = lines.get("GeneralJournalEntryLines", [])
    if not raw_lines:
        errors.append(required("GeneralJournalEntryLines"))
    line_entity = ENTITY_SETS["generaljournalentry/GeneralJournalEntryLines"]
    typed = [coerce_body(line_entity, line, method="POST")[0] for line in raw_lines]
    for line in typed:
        errors.extend(_check_required(line, ["AmountFC", "GLAccount"]))
    if errors:
        raise ODataError(errors)
    broken = []
    if store.tables["Journals"].by_code(values["JournalCode"]) is None:
        broken.append("JournalCode")
    for line in typed:
        if line["GLAccount"] not in store.tables["GLAccounts"].rows:
            broken.append("GLAccount")
        if line.get("Account") and line["Account"] not in store.tables["Accounts"].rows:
            broken.append("Account")
    if broken:
        raise reference_error(list(dict.fromkeys(broken)))
    key = store.tables["Journals"].by_code(values["JournalCode"])
    if store.tables["Journals"].value(key, "Type") != GENERAL_JOURNAL_TYPE:
        raise reference_error(["JournalCode"])
    typed = _journal_entry_vat(store, key, typed)
    booked = sum((_money(line["AmountFC"]) + _money(line.get("AmountVATFC")) for line in typed), Decimal(0))
    if round_money(booked) != 0:
        raise ODataError("Boeking is niet in balans")
    _refuse_taken(store, "GeneralJournalEntries", [values.get("EntryID")])
    _refuse_taken(store, "GeneralJournalEntryLines", [line.get("ID") for line in typed])
    today = actor.now.replace(hour=0, minute=0, second=0, microsecond=0)
    header = {**values, "EntryID": values.get("EntryID") or str(uuid4())}
    header.setdefault("Currency", store.currency)
    header["EntryNumber"] = header.get("EntryNumber") or store.next_invoice_number()
    header["Status"] = 20
    header["Type"] = 90
    first_date = typed[0].get("Date") or today
    header["FinancialYear"] = header.get("FinancialYear") or first_date.year
    header["FinancialPeriod"] = header.get("FinancialPeriod") or first_date.month
    _stamp_create(header, actor, store)
    record = store.insert("GeneralJournalEntries", header)
    for number, line in enumerate(typed, start=1):
        line = {
            **line,
            "ID": line.get("ID") or str(uuid4()),
            "EntryID": header["EntryID"],
            "EntryNumber": header["EntryNumber"],
            "LineNumber": number,
            "AmountFC": float(round_money(_money(line["AmountFC"]))),
        }
        line.setdefault("Date", first_date)
        _stamp_create(line, actor, store)
        store.insert("GeneralJournalEntryLines", line)
    events = [("GeneralJournalEntries", "Create", entity.path, header["EntryID"])]
    return WriteResult(header["EntryID"], record, events)


def _journal_entry_vat(store: DivisionStore, journal_key: str, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The VAT of general journal entry lines (fidelity 82h): a VATCode only in a journal with AllowVAT, a known code;
    AmountVATFC only beside a VATCode (REF: "If you want to set this in a POST you have to specify VATCode as well"),
    else computed from the code's percentage, half up per line in cents, with the line's sign. The VAT stays on its
    line (VATCode, VATPercentage, VATBaseAmountFC, AmountVATFC) and the entry balances with it included."""
    if not any(line.get("VATCode") or line.get("AmountVATFC") is not None for line in lines):
        return lines
    if not store.tables["Journals"].value(journal_key, "AllowVAT"):
        raise ODataError("Btw-code kan alleen worden gebruikt in een memoriaal met btw")
    taxed = []
    for line in lines:
        code = line.get("VATCode")
        if not code:
            if line.get("AmountVATFC") is not None:
                raise ODataError("Btw-bedrag kan alleen worden opgegeven met een btw-code")
            taxed.append(line)
            continue
        vat_key = store.tables["VATCodes"].by_code(code)
        if vat_key is None:
            raise reference_error(["VATCode"])
        percentage = _money(store.tables["VATCodes"].value(vat_key, "Percentage"))
        amount = _money(line["AmountFC"])
        vat = _money(line["AmountVATFC"]) if line.get("AmountVATFC") is not None else amount * percentage
        taxed.append(
            {
                **line,
                "VATPercentage": float(percentage),
                "VATBaseAmountFC": float(round_money(amount)),
                "AmountVATFC": float(round_money(vat)),
            }
        )
    return taxed


# ------------------------------------------------------------------------------------------ sales orders


def _create_sales_order(store, entity, values, lines, actor) -> WriteResult:  # type: ignore[no-untyped-def]
    """POST SalesOrders (fidelity 82i): OrderedBy and lines required, each line an Item (reference SalesOrders: the
    customer "who ordered the sales order", InvoiceTo and DeliverTo default to it and cannot change; SalesOrderLines
    Item: "the item that is sold"); prices, VAT code and amounts default from the item as on invoice lines. Open
    (Status 12), nothing delivered or invoiced."""
    errors = _check_required(values, ["OrderedBy"])
    raw_lines = lines.get("SalesOrderLines", [])
    if not raw_lines:
        errors.append(required("SalesOrderLines"))
    line_entity = ENTITY_SETS["salesorder/SalesOrderLines"]
    typed = [coerce_body(line_entity, line, method="POST")[0] for line in raw_lines]
    values.setdefault("InvoiceTo", values.get("OrderedBy"))
    values.setdefault("DeliverTo", values.get("OrderedBy"))
    broken = [
        n
        for n in ("OrderedBy", "InvoiceTo", "DeliverTo")
        if values.get(n) and values[n] not in store.tables["Accounts"].rows
    ]
    account_vat = None
    if values.get("InvoiceTo") in store.tables["Accounts"].rows:
        account_vat = store.tables["Accounts"].value(values["InvoiceTo"], "SalesVATCode")
    computed: list[dict[str, Any]] = []
    for line in typed:
        # The invoice line's defaults apply (item price, its VAT code); an order line has no G/L account.
        line_values, line_missing, line_broken = _invoice_line_values(store, line, account_vat)
        errors.extend(line_missing)
        broken.extend(line_broken)
        computed.append(line_values)
    if errors:
        raise ODataError(errors)
    if broken:
        raise reference_error(list(dict.fromkeys(broken)))
    _refuse_taken(store, "SalesOrders", [values.get("OrderID")])
    _refuse_taken(store, "SalesOrderLines", [line.get("ID") for line in computed])
    today = actor.now.replace(hour=0, minute=0, second=0, microsecond=0)
    header = {**values, "OrderID": values.get("OrderID") or str(uuid4())}
    header.setdefault("Currency", store.currency)
    header["OrderDate"] = header.get("OrderDate") or today
    orders = store.tables["SalesOrders"]
    number_of = orders.getter("OrderNumber")
    header["OrderNumber"] = header.get("OrderNumber") or 1 + max(
        (int(number_of(row) or 0) for row in orders.rows.values()), default=0
    )
    header.update(Status=12, DeliveryStatus=12, InvoiceStatus=12)
    excl = vat = Decimal(0)
    stored_lines = []
    for number, line in enumerate(computed, start=1):
        line = {key: value for key, value in line.items() if key not in ("GLAccount", "VATAmountFC")}
        line.update(
            ID=line.get("ID") or str(uuid4()),
            OrderID=header["OrderID"],
            OrderNumber=header["OrderNumber"],
            LineNumber=number,
            VATAmount=computed[number - 1]["VATAmountFC"],
            QuantityDelivered=0.0,
            QuantityInvoiced=0.0,
            DeliveryStatus=12,
            InvoiceStatus=12,
            OrderStatus=12,
        )
        line.setdefault("DeliveryDate", header.get("DeliveryDate") or header["OrderDate"])
        excl += _money(line["AmountFC"])
        vat += _money(line["VATAmount"])
        stored_lines.append(line)
    header.update(AmountFCExclVat=float(excl), AmountFC=float(excl + vat))
    _stamp_create(header, actor, store)
    record = store.insert("SalesOrders", header)
    for line in stored_lines:
        _stamp_create(line, actor, store)
        store.insert("SalesOrderLines", line)
    return WriteResult(header["OrderID"], record, [("SalesOrders", "Create", entity.path, header["OrderID"])])


def invoice_sales_orders(store: DivisionStore, entity: EntitySet, body: Any, actor: Actor) -> WriteResult:
    """POST InvoiceSalesOrders (fidelity 82j): SalesOrderIDs (objects with an ID) required; each order becomes an open
    sales invoice in JournalCode (default the sales journal 70) for the quantities still to invoice: ordered ones
    with InvoiceMode 1, delivered ones with InvoiceMode 0 (the reference's default; the sandbox delivers nothing, so
    those fail). CreateMode 1: one invoice per order, 0: one per customer. The invoice lines name their SalesOrder,
    SalesOrderLine and numbers; the orders' InvoiceStatus becomes 21. The answer counts created and failed
    invoices and lists the errors; how Exact words them is UNCONFIRMED (sandbox choice)."""
    values, lines = coerce_body(entity, body, method="POST")
    order_ids = [normalize_guid(row.get("ID")) for row in lines.get("SalesOrderIDs", []) if row.get("ID")]
    if not order_ids:
        raise ODataError(required("SalesOrderIDs"))
    orders = store.tables["SalesOrders"]
    if any(order_id not in orders.rows for order_id in order_ids):
        raise reference_error(["SalesOrderIDs"])
    journal = values.get("JournalCode") or DEFAULT_SALES_JOURNAL
    _check_journal(store, journal, 20)
    by_ordered = values.get("InvoiceMode") == 1
    groups: dict[str, list[str]] = {}
    for order_id in dict.fromkeys(order_ids):
        group = order_id if values.get("CreateMode") == 1 else str(orders.value(order_id, "InvoiceTo"))
        groups.setdefault(group, []).append(order_id)
    created = failed = 0
    errors: list[str] = []
    events: list[tuple[str, str, str, Any]] = []
    order_lines = store.tables["SalesOrderLines"]
    for group_orders in groups.values():
        invoice_lines: list[dict[str, Any]] = []
        invoiced: list[tuple[str, float]] = []
        for order_id in group_orders:
            for line_key in store.children("SalesOrderLines", order_id):
                line = order_lines.get(line_key) or {}
                done = float(line.get("QuantityInvoiced") or 0)
                basis = float(line.get("Quantity") or 0) if by_ordered else float(line.get("QuantityDelivered") or 0)
                if basis - done <= 0:
                    continue
                values_of_line = {
                    "Item": line.get("Item"),
                    "Quantity": basis - done,
                    "UnitPrice": line.get("UnitPrice"),
                    "VATCode": line.get("VATCode"),
                    "Description": line.get("Description"),
                }
                computed, _, _ = _invoice_line_values(store, values_of_line, None)
                computed.update(
                    SalesOrder=order_id,
                    SalesOrderLine=line_key,
                    SalesOrderNumber=line.get("OrderNumber"),
                    SalesOrderLineNumber=line.get("LineNumber"),
                )
                invoice_lines.append(computed)
                invoiced.append((line_key, basis))
        first = orders.get(group_orders[0]) or {}
        if not invoice_lines:
            failed += 1
            numbers = ", ".join(str(orders.value(order_id, "OrderNumber")) for order_id in group_orders)
            errors.append(f"Geen te factureren regels: order {numbers}")
            continue
        header = {
            "InvoiceID": str(uuid4()),
            "OrderedBy": first.get("OrderedBy"),
            "InvoiceTo": first.get("InvoiceTo"),
            "DeliverTo": first.get("DeliverTo"),
            "Currency": first.get("Currency"),
            "YourRef": first.get("YourRef"),
            "Description": first.get("Description"),
            "Journal": journal,
            "OrderNumber": first.get("OrderNumber"),
        }
        _complete_invoice_header(store, header, actor)
        insert_invoice(store, header, invoice_lines, actor)
        events.append(("SalesInvoices", "Create", "salesinvoice/SalesInvoices", header["InvoiceID"]))
        created += 1
        for line_key, quantity in invoiced:
            store.update("SalesOrderLines", line_key, {"QuantityInvoiced": quantity, "InvoiceStatus": 21})
        for order_id in group_orders:
            changes: dict[str, Any] = {"InvoiceStatus": 21}
            _stamp_update(changes, actor)
            store.update("SalesOrders", order_id, changes)
            events.append(("SalesOrders", "Update", "salesorder/SalesOrders", order_id))
    record = {
        **values,
        "ID": values.get("ID") or str(uuid4()),
        "NumberOfCreatedInvoices": created,
        "NumberOfFailedInvoices": failed,
        "Errors": "\r\n".join(errors) or None,
    }
    return WriteResult(record["ID"], record, events)


# ------------------------------------------------------------------------------------------ projects


PROJECT_TYPES = frozenset({1, 2, 3, 4, 5})  # reference Projects.Type (entities.PROJECT_TYPES)
DRAFT_HOURS = 1  # TimeTransactions.HourStatus 1 = Draft (reference; the POST default is a sandbox choice)
# What POST and PUT may set (1 Draft, 2 Rejected, 10 Submitted); 11, 14, 16, 19 and 20 (Final) come from the
# approval flow and are GET-only (connectors/exact/NOTES.md: Entities, TimeTransactions).
WRITABLE_HOUR_STATUSES = frozenset({1, 2, 10})


def _check_hour_status(values: dict[str, Any]) -> None:
    status = values.get("HourStatus")
    if status is not None and status not in WRITABLE_HOUR_STATUSES:
        raise ODataError(f"Ongeldige waarde: HourStatus ({status})")


def _create_project(store, entity, values, lines, actor) -> WriteResult:  # type: ignore[no-untyped-def]
    """POST Projects (fidelity 82u): Code, Description and Type are mandatory (reference: "For POST it is mandatory
    to provide Code, Description and Type"); Code unique, Type one of 1-5, Account and Manager existing records."""
    errors = _check_required(values, ["Code", "Description", "Type"])
    if errors:
        raise ODataError(errors)
    if values["Type"] not in PROJECT_TYPES:
        raise ODataError(f"Ongeldige waarde: Type ({values['Type']})")
    values["Code"] = str(values["Code"]).strip()
    _unique_code(store, "Projects", values["Code"])
    _check_refs(
        store,
        values,
        {"Account": "Accounts", "AccountContact": "Contacts", "Manager": "Employees", "FixedPriceItem": "Items"},
    )
    if values.get("StartDate") and values.get("EndDate") and values["EndDate"] < values["StartDate"]:
        raise ODataError("Einddatum ligt voor de begindatum")
    for flag in ("BlockEntry", "BlockPurchasing", "BlockRebilling", "AllowAdditionalInvoicing"):
        values.setdefault(flag, False)
    return _generic_insert(store, entity, values, actor)


def _create_project_transaction(table: str, transaction_type: int):  # type: ignore[no-untyped-def]
    """POST TimeTransactions (fidelity 82v; `table` TimeTransactions, Type 1) or CostTransactions (82x; Type 2): Item
    and Quantity always, and one of Account, Project or Subscription (the reference note of both); every GUID must
    name an existing record (500 "Ongeldige referentie"); without Employee the current user's employee is taken, and
    a user without one is refused; a project blocked for entries refuses them. PriceFC is the item's standard sales
    price (a cost transaction may give its own: PriceFC is POST-able there) and AmountFC = Quantity x PriceFC
    (reference: "Calculated amount of the transaction based on (Quantity * PriceFC)")."""

    def handler(store, entity, values, lines, actor) -> WriteResult:  # type: ignore[no-untyped-def]
        errors = _check_required(values, ["Item", "Quantity"])
        if not any(values.get(name) for name in ("Account", "Project", "Subscription")):
            errors.append(required("Project"))
        employees = store.tables["Employees"]
        if not values.get("Employee"):
            user_of = employees.getter("User")
            mine = [key for key, row in employees.rows.items() if actor.user_id and user_of(row) == actor.user_id]
            if mine:
                values["Employee"] = mine[0]
            else:
                errors.append(required("Employee"))
        if errors:
            raise ODataError(errors)
        _check_hour_status(values)
        if values.get("Subscription"):
            # The sandbox keeps no subscriptions: any subscription GUID points nowhere.
            raise reference_error(["Subscription"])
        _check_refs(
            store, values, {"Project": "Projects", "Account": "Accounts", "Item": "Items", "Employee": "Employees"}
        )
        projects = store.tables["Projects"]
        if values.get("Project"):
            if projects.value(values["Project"], "BlockEntry"):
                raise ODataError("Project is geblokkeerd voor tijd- en kosteninvoer")
            values.setdefault("Account", projects.value(values["Project"], "Account"))
        price = values.get("PriceFC")
        if price is None:
            price = store.tables["Items"].value(values["Item"], "StandardSalesPrice") or 0.0
        values["PriceFC"] = float(price)
        values["AmountFC"] = float(round_money(_money(values["Quantity"]) * _money(price)))
        values.setdefault("Currency", store.currency)
        values["Date"] = values.get("Date") or actor.now.replace(hour=0, minute=0, second=0, microsecond=0)
        values["HourStatus"] = values.get("HourStatus") or DRAFT_HOURS
        values["Type"] = transaction_type  # 1 = Time, 2 = Cost (reference Type, GET-only)
        entries = store.tables[table]
        number_of = entries.getter("EntryNumber")
        values["EntryNumber"] = values.get("EntryNumber") or 1 + max(
            (int(number_of(row) or 0) for row in entries.rows.values()), default=0
        )
        return _generic_insert(store, entity, values, actor)

    return handler


def _update_project_transaction(
    store: DivisionStore, table: str, current: dict[str, Any], values: dict[str, Any]
) -> None:
    """PUT on a time or cost transaction, with POST's rules (fidelity 82y): Item and Quantity stay given and so does
    one of Project or Account; every GUID must name a record (500 "Ongeldige referentie"); a project blocked for
    entries takes none; HourStatus only 1, 2 or 10. A new Item prices time anew (PriceFC is GET-only on time
    transactions) and AmountFC is always Quantity x PriceFC again, whatever the body says (the reference:
    "Calculated amount of the transaction based on (Quantity * PriceFC)")."""
    merged = {**current, **values}
    errors = [required(name) for name in ("Item", "Quantity", "Employee") if name in values and not values[name]]
    if not any(merged.get(name) for name in ("Account", "Project", "Subscription")):
        errors.append(required("Project"))
    if errors:
        raise ODataError(errors)
    _check_hour_status(values)
    _check_refs(store, values, {"Project": "Projects", "Account": "Accounts", "Item": "Items", "Employee": "Employees"})
    if values.get("Project") and store.tables["Projects"].value(values["Project"], "BlockEntry"):
        raise ODataError("Project is geblokkeerd voor tijd- en kosteninvoer")
    if table == "TimeTransactions" and values.get("Item"):
        values["PriceFC"] = float(store.tables["Items"].value(values["Item"], "StandardSalesPrice") or 0.0)
    price = values.get("PriceFC", current.get("PriceFC")) or 0.0
    values["AmountFC"] = float(round_money(_money(merged.get("Quantity") or 0) * _money(price)))


# ------------------------------------------------------------------------------------------ documents


def _create_document(store, entity, values, lines, actor) -> WriteResult:  # type: ignore[no-untyped-def]
    """POST Documents (NOTES.md: Documents): Subject and Type are required; Type must be one an API client may
    create; FinancialTransactionEntryID must name the entry the type belongs to: a purchase entry for a purchase
    invoice document (20), a sales invoice's InvoiceID for a sales invoice document (10)."""
    errors = _check_required(values, ["Subject", "Type"])
    if errors:
        raise ODataError(errors)
    if values["Type"] not in DOCUMENT_TYPES:
        raise ODataError(f"Ongeldige waarde: Type ({values['Type']})")
    _check_refs(store, values, {"Account": "Accounts", "Contact": "Contacts"})
    entry = values.get("FinancialTransactionEntryID")
    if entry is not None:
        tables = _DOCUMENT_ENTRY_TABLES.get(values["Type"], _ANY_ENTRY_TABLES)
        if not any(entry in store.tables[table].rows for table in tables):
            raise reference_error(["FinancialTransactionEntryID"])
    return _generic_insert(store, entity, values, actor)


_DOCUMENT_ENTRY_TABLES = {20: ("PurchaseEntries",), 10: ("SalesInvoices",)}
_ANY_ENTRY_TABLES = ("PurchaseEntries", "SalesEntries", "GeneralJournalEntries", "SalesInvoices")


def _create_document_attachment(store, entity, values, lines, actor) -> WriteResult:  # type: ignore[no-untyped-def]
    """POST DocumentAttachments (NOTES.md: Documents): Attachment (base64), Document and FileName are required; the
    document must exist; the decoded file may be at most 10 MB."""
    errors = _check_required(values, ["Attachment", "Document", "FileName"])
    if errors:
        raise ODataError(errors)
    _check_refs(store, values, {"Document": "Documents"})
    size = len(base64.b64decode(values["Attachment"]))
    if size > MAX_BINARY_BYTES:
        # Exact's answer to an oversize binary is not documented (README fidelity table): the sandbox refuses it.
        raise ODataError(f"Bijlage: maximaal {MAX_BINARY_BYTES // (1024 * 1024)} MB ({size} bytes)")
    values["FileSize"] = float(size)
    return _generic_insert(store, entity, values, actor)


# ------------------------------------------------------------------------------------------ printing


def print_invoice(store: DivisionStore, entity: EntitySet, body: Any, actor: Actor) -> WriteResult:
    """POST PrintedSalesInvoices: process the invoice (status 50), book its sales entry and receivable."""
    values, _ = coerce_body(entity, body, method="POST")
    if not values.get("InvoiceID"):
        raise ODataError(required("InvoiceID"))
    invoice_id = values["InvoiceID"]
    invoices = store.tables["SalesInvoices"]
    if invoice_id not in invoices.rows:
        raise reference_error(["InvoiceID"])
    _refuse_processed(store, invoice_id)
    invoice = invoices.get(invoice_id) or {}
    if not store.children("SalesInvoiceLines", invoice_id):
        raise ODataError(required("SalesInvoiceLines"))
    invoice_date = values.get("InvoiceDate") or actor.now.replace(hour=0, minute=0, second=0, microsecond=0)
    due = invoice_date + timedelta(
        days=int(invoice.get("PaymentCondition") or DEFAULT_PAYMENT_DAYS)
        if str(invoice.get("PaymentCondition", "")).isdigit()
        else DEFAULT_PAYMENT_DAYS
    )
    line_table = store.tables["SalesInvoiceLines"]
    entry_lines = []
    for key in store.children("SalesInvoiceLines", invoice_id):
        line = line_table.get(key) or {}
        entry_lines.append(
            {
                "AmountFC": line.get("AmountFC"),
                "VATAmountFC": line.get("VATAmountFC"),
                "VATCode": line.get("VATCode"),
                "GLAccount": line.get("GLAccount"),
                "Description": line.get("Description"),
                "Quantity": line.get("Quantity"),
            }
        )
    entry = book_sales_entry(
        store,
        {
            "Customer": invoice["InvoiceTo"],
            "Journal": invoice["Journal"],
            "EntryDate": invoice_date,
            "DueDate": invoice.get("DueDate") or due,
            "EntryNumber": invoice["InvoiceNumber"],
            "InvoiceNumber": invoice["InvoiceNumber"],
            "YourRef": invoice.get("YourRef"),
            "Description": invoice.get("Description"),
            "Currency": invoice.get("Currency"),
            "PaymentCondition": invoice.get("PaymentCondition"),
            "PaymentReference": invoice.get("PaymentReference"),
            "ReportingYear": values.get("ReportingYear"),
            "ReportingPeriod": values.get("ReportingPeriod"),
        },
        entry_lines,
        actor,
        status=50,
    )
    changes: dict[str, Any] = {"Status": 50, "InvoiceDate": invoice_date}
    _stamp_update(changes, actor)
    store.update("SalesInvoices", invoice_id, changes)
    for line_key in list(store.children("SalesInvoiceLines", invoice_id)):
        store.touch("SalesInvoiceLines", line_key)
    printed = {
        **values,
        "Division": store.code,
        "InvoiceDate": invoice_date,
        "ReportingYear": entry["ReportingYear"],
        "ReportingPeriod": entry["ReportingPeriod"],
        "DocumentCreationSuccess": "Document aangemaakt",
    }
    if values.get("SendEmailToCustomer"):
        # Reference: EmailCreationSuccess is shown "even if an email cannot be delivered".
        printed["EmailCreationSuccess"] = "E-mail aangemaakt"
    return WriteResult(
        invoice_id,
        printed,
        [
            ("SalesInvoices", "Update", "salesinvoice/SalesInvoices", invoice_id),
            ("SalesEntries", "Create", "salesentry/SalesEntries", entry["EntryID"]),
        ],
    )


# ------------------------------------------------------------------------------------------ webhooks


def _is_allowed_callback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.netloc:
        return True
    # Exact requires HTTPS callbacks; the sandbox also accepts plain http to the local machine so tests and the
    # demo can receive deliveries without TLS.
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def _create_subscription(store, entity, values, lines, actor) -> WriteResult:  # type: ignore[no-untyped-def]
    errors = _check_required(values, ["CallbackURL", "Topic"])
    if errors:
        raise ODataError(errors)
    if not _is_allowed_callback(values["CallbackURL"]):
        raise ODataError("Ongeldige waarde: CallbackURL (alleen HTTPS wordt ondersteund)")
    if values["Topic"] not in WEBHOOK_TOPICS:
        raise ODataError(f"Ongeldige waarde: Topic ({values['Topic']})")
    _check_subscription(store, values, actor, own_key=None)
    values.update(ClientID=actor.client_id, Description=actor.app_name, Division=store.code, UserID=actor.user_id)
    result = _generic_insert(store, entity, values, actor)
    result.subscription = result.record
    return result


def _check_subscription(store: DivisionStore, values: dict[str, Any], actor: Actor, own_key: str | None) -> None:
    if values.get("IsInstant") and values["Topic"] != "GoodsDeliveries":
        # Reference: instant delivery is "only supported for topic 'GoodsDeliveries'. For any other topic, return
        # an error."
        raise ODataError("Ongeldige waarde: IsInstant (alleen voor topic GoodsDeliveries)")
    for existing in store.subscriptions(values["Topic"]):
        if existing.get("ID") == own_key:
            continue
        if existing.get("CallbackURL") == values["CallbackURL"] and existing.get("ClientID") == actor.client_id:
            raise ODataError("Bestaat reeds: abonnement op dit topic met deze CallbackURL")


def _update_subscription(store: DivisionStore, key: str, values: dict[str, Any], actor: Actor) -> WriteResult:
    """PUT on a subscription (NOTES.md: Webhooks): a changed CallbackURL must be validated again before events flow."""
    current = store.tables["WebhookSubscriptions"].get(key) or {}
    if current.get("ClientID") != actor.client_id:
        # Another app's subscription is not this app's to change.
        raise ODataError("Resource not found for the segment 'WebhookSubscriptions'.", status=404)
    merged = {**current, **values}
    errors = _check_required(merged, ["CallbackURL", "Topic"])
    if errors:
        raise ODataError(errors)
    if not _is_allowed_callback(merged["CallbackURL"]):
        raise ODataError("Ongeldige waarde: CallbackURL (alleen HTTPS wordt ondersteund)")
    if merged["Topic"] not in WEBHOOK_TOPICS:
        raise ODataError(f"Ongeldige waarde: Topic ({merged['Topic']})")
    _check_subscription(store, merged, actor, own_key=key)
    _stamp_update(values, actor)
    record = store.update("WebhookSubscriptions", key, values)
    result = WriteResult(key, record)
    result.changed_subscription = (current, record)
    return result


_CREATE = {
    "crm/Accounts": _create_account,
    "crm/Contacts": _create_contact,
    "logistics/Items": _create_coded(["Code", "Description"], "Items"),
    "financial/GLAccounts": _create_coded(["Code", "Description"], "GLAccounts"),
    "vat/VATCodes": _create_coded(["Code", "Description"], "VATCodes"),
    "financial/Journals": _create_coded(["Code", "Description"], "Journals"),
    "salesinvoice/SalesInvoices": _create_invoice,
    "salesinvoice/SalesInvoiceLines": _create_invoice_line,
    "salesentry/SalesEntries": _create_sales_entry,
    "purchaseentry/PurchaseEntries": _create_purchase_entry,
    "generaljournalentry/GeneralJournalEntries": _create_general_journal_entry,
    "salesorder/SalesOrders": _create_sales_order,
    "project/Projects": _create_project,
    "project/TimeTransactions": _create_project_transaction("TimeTransactions", 1),
    "project/CostTransactions": _create_project_transaction("CostTransactions", 2),
    "webhooks/WebhookSubscriptions": _create_subscription,
    "documents/Documents": _create_document,
    "documents/DocumentAttachments": _create_document_attachment,
}


# ------------------------------------------------------------------------------------------ PUT / DELETE


# Line set -> its header set, for line sets in their header's webhook topic (PurchaseEntryLines in PurchaseEntries,
# SalesOrderLines in SalesOrders, SalesEntryLines in SalesEntries).
_HEADER_OF_LINES = {
    line_path: header.path
    for header in ENTITY_SETS.values()
    for line_path in header.navigations.values()
    if header.topic and line_path in ENTITY_SETS and ENTITY_SETS[line_path].topic == header.topic
}


def _line_events(store: DivisionStore, entity: EntitySet, line_key: Any) -> list[tuple[str, str, str, str]] | None:
    """A line written on its own changes its header: an Update event of the header (its key and endpoint), as for
    SalesInvoiceLines (NOTES.md: Webhooks; the topic covers its lines, what Exact puts in Key for a line change is
    UNCONFIRMED). None when `entity` is no such line set."""
    header_path = _HEADER_OF_LINES.get(entity.path)
    if header_path is None or entity.path == "salesinvoice/SalesInvoiceLines" or entity.table is None:
        return None
    header_key = store.tables[entity.table].value(line_key, LINE_PARENTS[entity.table])
    if not header_key:
        return None
    return [(str(entity.topic), "Update", header_path, header_key)]


def update(store: DivisionStore, entity: EntitySet, key: Any, body: Any, actor: Actor) -> WriteResult:
    """PUT: change the updatable properties present in the body."""
    assert entity.table is not None
    values, lines = coerce_body(entity, body, method="PUT")
    table = store.tables[entity.table]
    current = table.get(key) or {}
    events = [(entity.topic, "Update", entity.path, key)] if entity.topic else []
    if entity.table == "WebhookSubscriptions":
        return _update_subscription(store, key, values, actor)
    if entity.table == "SalesInvoices":
        _refuse_processed(store, key)
        for raw in lines.get("SalesInvoiceLines", []):
            _put_invoice_line(store, key, raw, actor)
    elif entity.table == "SalesInvoiceLines":
        invoice_id = current["InvoiceID"]
        _refuse_processed(store, invoice_id)
        merged, _, broken = _invoice_line_values(store, {**current, **values, "AmountFC": values.get("AmountFC")}, None)
        if broken:
            raise reference_error(broken)
        _stamp_update(merged, actor)
        store.update("SalesInvoiceLines", key, merged)
        _restamp_invoice(store, invoice_id, actor)
        return WriteResult(key, None, [("SalesInvoices", "Update", "salesinvoice/SalesInvoices", invoice_id)])
    elif entity.table == "Accounts":
        if "Name" in values and not values["Name"]:
            raise ODataError(required("Name"))
        if values.get("Code"):
            values["Code"] = pad_account_code(values["Code"])
            _unique_code(store, "Accounts", values["Code"], key)
        _check_vat_codes(store, values, ["SalesVATCode", "PurchaseVATCode"])
    elif entity.table in ("Items", "GLAccounts", "VATCodes", "Journals"):
        for name in ("Code", "Description"):
            if name in values and not values[name]:
                raise ODataError(required(name))
        if values.get("Code"):
            values["Code"] = str(values["Code"]).strip()
            _unique_code(store, entity.table, values["Code"], key)
    elif entity.table in ("SalesEntries", "PurchaseEntries") and current.get("Status") == 50:
        raise ODataError("Boeking is verwerkt en kan niet meer worden gewijzigd")
    elif entity.table in ("TimeTransactions", "CostTransactions"):
        _update_project_transaction(store, entity.table, current, values)
    _stamp_update(values, actor)
    store.update(entity.table, key, values)
    if entity.table == "SalesInvoices":
        _restamp_invoice(store, key, None)
    return WriteResult(key, None, _line_events(store, entity, key) or events)


def _put_invoice_line(store: DivisionStore, invoice_id: str, raw: dict[str, Any], actor: Actor) -> None:
    """Lines inside a PUT of the invoice: with a known ID they change that line, without one they are added."""
    line_entity = ENTITY_SETS["salesinvoice/SalesInvoiceLines"]
    values, _ = coerce_body(line_entity, raw, method="POST")
    line_id = values.get("ID")
    if line_id and line_id in store.tables["SalesInvoiceLines"].rows:
        current = store.tables["SalesInvoiceLines"].get(line_id) or {}
        merged, _, broken = _invoice_line_values(store, {**current, **values, "AmountFC": values.get("AmountFC")}, None)
        if broken:
            raise reference_error(broken)
        store.update("SalesInvoiceLines", line_id, merged)
        return
    line, missing, broken = _invoice_line_values(store, values, None)
    if missing:
        raise ODataError(missing)
    if broken:
        raise reference_error(broken)
    line.update(
        ID=line.get("ID") or str(uuid4()),
        InvoiceID=invoice_id,
        LineNumber=len(store.children("SalesInvoiceLines", invoice_id)) + 1,
    )
    _stamp_create(line, actor, store)
    store.insert("SalesInvoiceLines", line)


def delete(store: DivisionStore, entity: EntitySet, key: Any, actor: Actor) -> WriteResult:
    assert entity.table is not None
    table = entity.table
    # Read before the line goes: its header is what changed.
    events = _line_events(store, entity, key) or ([(entity.topic, "Delete", entity.path, key)] if entity.topic else [])
    if table == "SalesInvoices":
        _refuse_processed(store, key)
        for line_key in list(store.children("SalesInvoiceLines", key)):
            store.remove("SalesInvoiceLines", line_key, deleted_by=actor.user_id, when=actor.now)
    elif table == "SalesInvoiceLines":
        invoice_id = store.tables[table].value(key, "InvoiceID")
        _refuse_processed(store, invoice_id)
        store.remove(table, key, deleted_by=actor.user_id, when=actor.now)
        for number, line_key in enumerate(store.children("SalesInvoiceLines", invoice_id), start=1):
            store.update("SalesInvoiceLines", line_key, {"LineNumber": number})
        _restamp_invoice(store, invoice_id, actor)
        return WriteResult(key, None, [("SalesInvoices", "Update", "salesinvoice/SalesInvoices", invoice_id)])
    elif table == "SalesEntries":
        if store.tables[table].value(key, "Status") == 50:
            raise ODataError("Boeking is verwerkt en kan niet meer worden verwijderd")
        for line_key in list(store.children("SalesEntryLines", key)):
            store.remove("SalesEntryLines", line_key, deleted_by=actor.user_id, when=actor.now)
        remove_transaction_lines(store, key, actor)
    elif table == "GeneralJournalEntries":
        for line_key in list(store.children("GeneralJournalEntryLines", key)):
            store.remove("GeneralJournalEntryLines", line_key, deleted_by=actor.user_id, when=actor.now)
    elif table == "PurchaseEntries":
        if store.tables[table].value(key, "Status") == 50:
            raise ODataError("Boeking is verwerkt en kan niet meer worden verwijderd")
        for line_key in list(store.children("PurchaseEntryLines", key)):
            store.remove("PurchaseEntryLines", line_key, deleted_by=actor.user_id, when=actor.now)
        payables = store.tables["Payments"]
        entry_of = payables.getter("EntryID")
        for payable_key in [k for k, row in payables.rows.items() if entry_of(row) == key]:
            store.remove("Payments", payable_key, deleted_by=actor.user_id, when=actor.now)
    elif table == "Documents":
        attachments = store.tables["DocumentAttachments"]
        document_of = attachments.getter("Document")
        for attachment_key in [k for k, row in attachments.rows.items() if document_of(row) == key]:
            store.remove("DocumentAttachments", attachment_key, deleted_by=actor.user_id, when=actor.now)
    elif table == "Accounts":
        invoices = store.tables["SalesInvoices"]
        ordered_by, invoice_to = invoices.getter("OrderedBy"), invoices.getter("InvoiceTo")
        if any(ordered_by(row) == key or invoice_to(row) == key for row in invoices.rows.values()):
            raise ODataError("Relatie kan niet worden verwijderd: er zijn verkoopfacturen voor deze relatie")
    store.remove(table, key, deleted_by=actor.user_id, when=actor.now)
    result = WriteResult(key, None, events)
    if table == "WebhookSubscriptions":
        result.deleted_subscription = key
    return result
