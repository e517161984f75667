"""Seed data for sandbox divisions: a Dutch chart of accounts, VAT codes, journals, items, customers, invoices."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from connectors.exact.sandbox.entities import ENTITY_SETS
from connectors.exact.sandbox.store import DivisionStore
from connectors.exact.sandbox.writes import DEFAULT_PAYMENT_DAYS, Actor, pad_account_code, print_invoice

SEED_USER = "00000000-0000-4000-8000-000000000001"
SEED_USER_NAME = "Sandbox Seed"
_BASE_DATE = datetime(2024, 1, 1)

# (code, description, Type, BalanceType, BalanceSide, VATCode)
GL_ACCOUNTS = [
    ("1100", "Bank", 12, "B", "D", None),
    ("1300", "Debiteuren", 20, "B", "D", None),
    ("1600", "Crediteuren", 22, "B", "C", None),
    ("1500", "Af te dragen btw hoog", 24, "B", "C", None),
    ("1510", "Af te dragen btw laag", 24, "B", "C", None),
    ("1520", "Te vorderen btw", 24, "B", "D", None),
    ("8000", "Omzet hoog", 110, "W", "C", "2"),
    ("8010", "Omzet laag", 110, "W", "C", "1"),
    ("8020", "Omzet vrijgesteld", 110, "W", "C", "0"),
    ("4000", "Inkopen", 111, "W", "D", "5"),
]
# (code, description, Percentage as a fraction like Exact, Type E=excl, VATTransactionType S/P, GL to pay/claim)
VAT_CODES = [
    ("2", "21% VH verkoop excl", 0.21, "E", "S", "1500", None),
    ("1", "9% VL verkoop excl", 0.09, "E", "S", "1510", None),
    ("0", "0% geen BTW", 0.0, "N", "B", None, None),
    ("5", "21% VH inkoop excl", 0.21, "E", "P", None, "1520"),
    ("6", "9% VL inkoop excl", 0.09, "E", "P", None, "1520"),
]
# (code, description, Type, GL account, AllowVAT) — 70 is the default sales journal (picqer #287); 91 is a general
# journal with VAT enabled (REF Journals.AllowVAT: "Applicable only for General Journals").
JOURNALS = [
    ("70", "Verkoopboek", 20, None, False),
    ("60", "Inkoopboek", 22, None, False),
    ("20", "Bank", 12, "1100", False),
    ("90", "Memoriaal", 90, None, False),
    ("91", "Memoriaal met btw", 90, None, True),
]
# (code, description, revenue GL, sales VAT code, standard sales price)
ITEMS = [
    ("CONSULT", "Consultancy per uur", "8000", "2", 95.0),
    ("HOSTING", "Hosting per maand", "8000", "2", 49.5),
    ("LICENSE", "Softwarelicentie", "8000", "2", 250.0),
    ("BOOK", "Handboek", "8010", "1", 39.95),
]
# (code, first name, last name): the administration's employees (payroll/Employees), whom time entries book on.
EMPLOYEES = [
    ("1", "Sanne", "de Boer"),
    ("2", "Daan", "Visser"),
]
CUSTOMERS = [
    ("Bakkerij De Gouden Korenschoof B.V.", "Utrecht", "NL"),
    ("Fietsenmakerij Van Dam", "Amsterdam", "NL"),
    ("Brasserie 't Pleintje", "Gent", "BE"),
]


def _guid(store: DivisionStore, kind: str, code: str) -> str:
    """Stable IDs for default records so snapshots of fresh divisions compare equal."""
    return str(uuid5(NAMESPACE_URL, f"exact-sandbox:{store.code}:{kind}:{code}"))


def _stamps(when: datetime) -> dict[str, Any]:
    return {
        "Created": when,
        "Creator": SEED_USER,
        "CreatorFullName": SEED_USER_NAME,
        "Modified": when,
        "Modifier": SEED_USER,
        "ModifierFullName": SEED_USER_NAME,
    }


def seed_division_defaults(store: DivisionStore) -> None:
    """What a new Dutch Exact administration starts with, plus three items and a few customers."""
    gl_keys: dict[str, str] = {}
    for code, description, gl_type, balance_type, side, vat in GL_ACCOUNTS:
        gl_keys[code] = _guid(store, "gl", code)
        store.insert(
            "GLAccounts",
            {
                "ID": gl_keys[code],
                "Code": code,
                "Description": description,
                "Type": gl_type,
                "BalanceType": balance_type,
                "BalanceSide": side,
                "VATCode": vat,
                **_stamps(_BASE_DATE),
            },
        )
    for code, description, percentage, vat_type, transaction_type, to_pay, to_claim in VAT_CODES:
        store.insert(
            "VATCodes",
            {
                "ID": _guid(store, "vat", code),
                "Code": code,
                "Description": description,
                "Percentage": percentage,
                "Type": vat_type,
                "VATTransactionType": transaction_type,
                "GLToPay": gl_keys.get(to_pay or ""),
                "GLToClaim": gl_keys.get(to_claim or ""),
                "Country": store.country,
                **_stamps(_BASE_DATE),
            },
        )
        # The percentage lives in the code's VATPercentages collection (one period, no end date).
        store.insert(
            "VatPercentages",
            {
                "ID": _guid(store, "vat-percentage", code),
                "VATCodeID": _guid(store, "vat", code),
                "LineNumber": 1,
                "Percentage": percentage,
                "Type": 0,
                **_stamps(_BASE_DATE),
            },
        )
    for code, description, journal_type, gl, allow_vat in JOURNALS:
        store.insert(
            "Journals",
            {
                "ID": _guid(store, "journal", code),
                "Code": code,
                "Description": description,
                "Type": journal_type,
                "AllowVAT": allow_vat,
                "GLAccount": gl_keys.get(gl or ""),
                "Currency": store.currency,
                **_stamps(_BASE_DATE),
            },
        )
    for code, description, revenue, vat, price in ITEMS:
        store.insert(
            "Items",
            {
                "ID": _guid(store, "item", code),
                "Code": code,
                "Description": description,
                "GLRevenue": gl_keys[revenue],
                "SalesVatCode": vat,
                "StandardSalesPrice": price,
                "IsSalesItem": True,
                "Unit": "stuk",
                **_stamps(_BASE_DATE),
            },
        )
    for code, first, last in EMPLOYEES:
        store.insert(
            "Employees",
            {
                "ID": _guid(store, "employee", code),
                "Code": code,
                "FirstName": first,
                "LastName": last,
                "FullName": f"{first} {last}",
                "IsActive": True,
                "StartDate": _BASE_DATE,
                **_stamps(_BASE_DATE),
            },
        )
    for number, (name, city, country) in enumerate(CUSTOMERS, start=1):
        store.insert(
            "Accounts",
            {
                "ID": _guid(store, "account", str(number)),
                "Code": pad_account_code(str(number)),
                "Name": name,
                "City": city,
                "Country": country,
                "Status": "C",
                "SalesVATCode": "2",
                "Language": "NL",
                **_stamps(_BASE_DATE),
            },
        )


_NAMES_A = ["Van Dijk", "De Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos", "Peters"]
_NAMES_B = ["Techniek", "Advies", "Logistiek", "Bouw", "Installatie", "Design", "Zorg", "Horeca", "IT", "Media"]
_FORMS = ["B.V.", "V.O.F.", "Holding B.V.", "& Zn.", "N.V."]
_CITIES = ["Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven", "Groningen", "Tilburg", "Breda"]


def _rng_guid(rng: random.Random) -> str:
    return str(UUID(int=rng.getrandbits(128), version=4))


def _rng(seed: int, kind: str, store: DivisionStore, table: str) -> random.Random:
    """A generator per (seed, kind, division, rows already there): deterministic for a fresh division, yet a
    second seeding call (or accounts and invoices seeded with the same seed) draws fresh GUIDs instead of
    repeating the first call's and overwriting its records."""
    return random.Random(f"{seed}:{kind}:{store.code}:{len(store.tables[table].rows)}")  # noqa: S311


def seed_accounts(store: DivisionStore, *, count: int, seed: int) -> int:
    """Add `count` customer accounts (deterministic for a seed); returns how many were created."""
    rng = _rng(seed, "accounts", store, "Accounts")  # deterministic test data, not secrets
    code_of = store.tables["Accounts"].getter("Code")
    next_code = 1 + max(
        (int(c) for c in (code_of(r) for r in store.tables["Accounts"].rows.values()) if c and c.strip().isdigit()),
        default=0,
    )
    for offset in range(count):
        name = f"{rng.choice(_NAMES_A)} {rng.choice(_NAMES_B)} {rng.choice(_FORMS)}"
        created = _BASE_DATE + timedelta(minutes=rng.randrange(0, 525_600))
        store.insert(
            "Accounts",
            {
                "ID": _rng_guid(rng),
                "Code": pad_account_code(str(next_code + offset)),
                "Name": name,
                "City": rng.choice(_CITIES),
                "Country": "NL",
                "Status": "C",
                "SalesVATCode": "2",
                "Email": f"administratie{next_code + offset}@example.nl",
                **_stamps(created),
            },
        )
    return count


def seed_invoices(
    store: DivisionStore, *, count: int, lines_per_invoice: int = 3, seed: int, processed: int = 0
) -> int:
    """Add `count` open sales invoices with computed lines, fast (integer cents, no per-record validation).

    Invoices need customers: a pool of 50 accounts is created when the division has none. The first `processed`
    new invoices are then processed the way POST PrintedSalesInvoices does it (Status 50, a sales entry, a
    receivable), dated on their invoice date.
    """
    accounts = store.tables["Accounts"]
    status_of = accounts.getter("Status")
    customers = [key for key, row in accounts.rows.items() if status_of(row) == "C"]
    if not customers:
        seed_accounts(store, count=50, seed=seed)
        customers = [key for key, row in accounts.rows.items() if status_of(row) == "C"]
    rng = _rng(seed, "invoices", store, "SalesInvoices")  # deterministic test data, not secrets
    customers.sort()
    items_table, vat_table = store.tables["Items"], store.tables["VATCodes"]
    catalogue = []
    for key in sorted(items_table.rows):
        item = items_table.get(key) or {}
        vat_key = vat_table.by_code(item.get("SalesVatCode") or "2")
        percentage = (vat_table.value(vat_key, "Percentage") if vat_key else 0.0) or 0.0
        price_cents = round((item.get("StandardSalesPrice") or 10.0) * 100)
        catalogue.append(
            (
                key,
                item.get("GLRevenue"),
                item.get("SalesVatCode") or "2",
                percentage,
                round(percentage * 10_000),
                price_cents,
            )
        )
    if not catalogue:
        raise ValueError("seed_invoices needs items: create the division with seed_defaults=True")
    journal = "70"
    insert = store.insert
    created_ids: list[tuple[str, datetime]] = []
    for _ in range(count):
        invoice_id = _rng_guid(rng)
        customer = customers[rng.randrange(len(customers))]
        day = _BASE_DATE + timedelta(days=rng.randrange(0, 730))
        created = day + timedelta(hours=9, minutes=rng.randrange(0, 480))
        excl_cents = vat_cents = 0
        lines = []
        for number in range(1, lines_per_invoice + 1):
            item_key, gl, vat_code, percentage, basis_points, price_cents = catalogue[rng.randrange(len(catalogue))]
            quantity = rng.randrange(1, 10)
            amount = quantity * price_cents
            # Half-up rounding of VAT per line, in integer cents (amounts are positive).
            vat = (amount * basis_points + 5_000) // 10_000
            excl_cents += amount
            vat_cents += vat
            lines.append(
                {
                    "ID": _rng_guid(rng),
                    "InvoiceID": invoice_id,
                    "LineNumber": number,
                    "Item": item_key,
                    "Quantity": float(quantity),
                    "UnitPrice": price_cents / 100,
                    "NetPrice": price_cents / 100,
                    "AmountFC": amount / 100,
                    "VATAmountFC": vat / 100,
                    "VATCode": vat_code,
                    "VATPercentage": percentage,
                    "GLAccount": gl,
                }
            )
        insert(
            "SalesInvoices",
            {
                "InvoiceID": invoice_id,
                "InvoiceNumber": store.next_invoice_number(),
                "InvoiceTo": customer,
                "OrderedBy": customer,
                "DeliverTo": customer,
                "Journal": journal,
                "Currency": store.currency,
                "Status": 20,
                "Type": 8020,
                "InvoiceDate": day,
                "OrderDate": day,
                "DueDate": day + timedelta(days=DEFAULT_PAYMENT_DAYS),
                "PaymentCondition": str(DEFAULT_PAYMENT_DAYS),
                "YourRef": f"PO-{rng.randrange(100_000, 999_999)}",
                "AmountFCExclVat": excl_cents / 100,
                "VATAmountFC": vat_cents / 100,
                "AmountFC": (excl_cents + vat_cents) / 100,
                **_stamps(created),
            },
        )
        for line in lines:
            insert("SalesInvoiceLines", line)
        created_ids.append((invoice_id, day))
    printed = ENTITY_SETS["salesinvoice/PrintedSalesInvoices"]
    for invoice_id, day in created_ids[:processed]:
        actor = Actor(user_id=SEED_USER, full_name=SEED_USER_NAME, now=day + timedelta(hours=17))
        print_invoice(store, printed, {"InvoiceID": invoice_id, "InvoiceDate": day.isoformat()}, actor)
    return count
