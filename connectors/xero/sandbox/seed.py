"""Seed data: a new organisation's tax rates and chart of accounts per country, plus deterministic test records."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from connectors.xero.sandbox import entities
from connectors.xero.sandbox.entities import WriteContext
from connectors.xero.sandbox.store import OrganisationStore

_BASE_DATE = datetime(2024, 1, 1, tzinfo=UTC)
# Countries the sandbox can create organisations for (their default tax rates differ).
COUNTRIES = ("GB", "AU", "NZ")

# (TaxType, Name, rate %, ReportTaxType) per country; Xero's system tax types (NOTES.md "Resources").
TAX_RATES: dict[str, list[tuple[str, str, str, str]]] = {
    "GB": [
        ("OUTPUT2", "20% (VAT on Income)", "20", "OUTPUT"),
        ("INPUT2", "20% (VAT on Expenses)", "20", "INPUT"),
        ("RROUTPUT", "5% (VAT on Income)", "5", "OUTPUT"),
        ("RRINPUT", "5% (VAT on Expenses)", "5", "INPUT"),
        ("ZERORATEDOUTPUT", "Zero Rated Income", "0", "OUTPUT"),
        ("ZERORATEDINPUT", "Zero Rated Expenses", "0", "INPUT"),
        ("EXEMPTOUTPUT", "Exempt Income", "0", "EXEMPTOUTPUT"),
        ("EXEMPTINPUT", "Exempt Expenses", "0", "EXEMPTINPUT"),
        ("NONE", "No VAT", "0", "NONE"),
    ],
    "AU": [
        ("OUTPUT", "GST on Income", "10", "OUTPUT"),
        ("INPUT", "GST on Expenses", "10", "INPUT"),
        ("EXEMPTOUTPUT", "GST Free Income", "0", "EXEMPTOUTPUT"),
        ("EXEMPTEXPENSES", "GST Free Expenses", "0", "EXEMPTEXPENSES"),
        ("BASEXCLUDED", "BAS Excluded", "0", "BASEXCLUDED"),
        ("NONE", "No GST", "0", "NONE"),
    ],
    "NZ": [
        ("OUTPUT2", "15% GST on Income", "15", "OUTPUT"),
        ("INPUT2", "15% GST on Expenses", "15", "INPUT"),
        ("ZERORATED", "Zero Rated", "0", "OUTPUT"),
        ("NONE", "No GST", "0", "NONE"),
    ],
}
# (Code, Name, Type, sales/purchase tax: "out", "in" or None). Bank accounts carry a number instead of a code.
ACCOUNTS: list[tuple[str, str, str, str | None]] = [
    ("090", "Business Bank Account", "BANK", None),
    ("200", "Sales", "REVENUE", "out"),
    ("260", "Other Revenue", "REVENUE", "out"),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "in"),
    ("400", "Advertising", "OVERHEADS", "in"),
    ("429", "General Expenses", "OVERHEADS", "in"),
    ("610", "Accounts Receivable", "CURRENT", None),
    ("630", "Inventory", "INVENTORY", None),
    ("800", "Accounts Payable", "CURRLIAB", None),
    ("820", "Sales Tax", "CURRLIAB", None),
    ("960", "Retained Earnings", "EQUITY", None),
]
ITEMS: list[tuple[str, str, str]] = [
    ("CONSULT", "Consulting per hour", "120.00"),
    ("HOSTING", "Hosting per month", "49.50"),
    ("LICENCE", "Software licence", "250.00"),
]
_NAMES_FIRST = ["Harbour", "Kiwi", "Southern", "Bramble", "Copper", "Lantern", "Meridian", "Oak", "Pioneer", "Quay"]
_NAMES_SECOND = [
    "Bakery",
    "Joinery",
    "Cycles",
    "Consulting",
    "Florist",
    "Studio",
    "Traders",
    "Dental",
    "Garage",
    "Cafe",
]


# ReportTaxTypes of rates only for income or only for expenses (NZ's "Zero Rated" is used on both sides).
_INCOME_REPORT_TYPES = frozenset({"OUTPUT", "EXEMPTOUTPUT"})
_EXPENSE_REPORT_TYPES = frozenset({"INPUT", "EXEMPTINPUT", "EXEMPTEXPENSES"})


def _sales_purchase_tax(country: str) -> tuple[str, str]:
    return {"GB": ("OUTPUT2", "INPUT2"), "AU": ("OUTPUT", "INPUT"), "NZ": ("OUTPUT2", "INPUT2")}[country]


def _id(store: OrganisationStore, kind: str, key: str) -> str:
    """Stable IDs for default records, so fresh organisations dump alike."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"xero-sandbox:{store.tenant_id}:{kind}:{key}"))


def seed_organisation_defaults(store: OrganisationStore) -> None:
    """What a new organisation starts with: its country's tax rates, a small chart of accounts and items."""
    if store.country_code not in COUNTRIES:
        raise ValueError(f"unsupported country {store.country_code!r}; expected one of {COUNTRIES}")
    for tax_type, name, rate, report in TAX_RATES[store.country_code]:
        store.tables["TaxRates"][tax_type] = {
            "Name": name,
            "TaxType": tax_type,
            "ReportTaxType": report,
            "Status": "ACTIVE",
            "TaxComponents": [
                {"Name": name.split(" (")[0], "Rate": Decimal(rate), "IsCompound": False, "IsNonRecoverable": False}
            ],
            "CanApplyToAssets": True,
            "CanApplyToEquity": True,
            # NOTES.md "Line items": income rates are refused on expense accounts and expense rates on revenue.
            "CanApplyToExpenses": report not in _INCOME_REPORT_TYPES or tax_type == "ZERORATED",
            "CanApplyToLiabilities": True,
            "CanApplyToRevenue": report not in _EXPENSE_REPORT_TYPES,
            "DisplayTaxRate": Decimal(rate),
            "EffectiveRate": Decimal(rate),
        }
    sales_tax, purchase_tax = _sales_purchase_tax(store.country_code)
    for code, name, account_type, tax in ACCOUNTS:
        account_id = _id(store, "account", code)
        record: dict[str, Any] = {
            "AccountID": account_id,
            "Name": name,
            "Type": account_type,
            "Class": entities.ACCOUNT_CLASSES[account_type],
            "Status": "ACTIVE",
            "TaxType": {"out": sales_tax, "in": purchase_tax}.get(tax or "", "NONE"),
            "EnablePaymentsToAccount": False,
            "ShowInExpenseClaims": account_type in ("OVERHEADS", "DIRECTCOSTS"),
            "HasAttachments": False,
            "AddToWatchlist": False,
            "UpdatedDateUTC": _BASE_DATE,
        }
        if account_type == "BANK":
            record.update(
                {
                    "Code": code,
                    "BankAccountNumber": "12-3456-7890123-00",
                    "BankAccountType": "BANK",
                    "CurrencyCode": store.base_currency,
                }
            )
        else:
            record["Code"] = code
        if code == "610":
            record["SystemAccount"] = "DEBTORS"
        elif code == "800":
            record["SystemAccount"] = "CREDITORS"
        elif code == "960":
            record["SystemAccount"] = "RETAINEDEARNINGS"
        store.tables["Accounts"][account_id] = record
    for code, name, price in ITEMS:
        item_id = _id(store, "item", code)
        store.tables["Items"][item_id] = {
            "ItemID": item_id,
            "Code": code,
            "Name": name,
            "Description": name,
            "PurchaseDescription": name,
            "IsSold": True,
            "IsPurchased": True,
            "IsTrackedAsInventory": False,
            "SalesDetails": {"UnitPrice": Decimal(price), "AccountCode": "200", "TaxType": sales_tax},
            "PurchaseDetails": {"UnitPrice": Decimal(price), "AccountCode": "429", "TaxType": purchase_tax},
            "UpdatedDateUTC": _BASE_DATE,
        }


def seed_records(
    store: OrganisationStore,
    *,
    now: datetime,
    contacts: int = 0,
    invoices: int = 0,
    lines_per_invoice: int = 3,
    payments: int = 0,
    seed: int = 0,
) -> dict[str, int]:
    """Deterministic contacts, invoices with lines (sales and bills) and payments, through the same validation
    as the API (so seeded data obeys every rule). The same seed gives the same names, amounts and dates."""
    rng = random.Random(seed)  # noqa: S311  (reproducible test data, not crypto)
    wc = WriteContext(
        store=store,
        now=now,
        client_id="sandbox-seed",
        id_factory=lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    )
    sales_tax, purchase_tax = _sales_purchase_tax(store.country_code)
    created = {"contacts": 0, "invoices": 0, "payments": 0}
    with store.lock:
        offset = len(store.tables["Contacts"])
        for index in range(contacts):
            name = f"{rng.choice(_NAMES_FIRST)} {rng.choice(_NAMES_SECOND)} {offset + index + 1:04d}"
            outcome = entities.save_contact(
                wc,
                {
                    "Name": name,
                    "ContactNumber": f"C{seed:03d}-{offset + index + 1:05d}",
                    "EmailAddress": f"accounts{offset + index + 1}@example.com",
                    "FirstName": rng.choice(["Aroha", "Liam", "Olivia", "Noah", "Mere", "Jack"]),
                    "LastName": rng.choice(["Smith", "Ngata", "Brown", "Wilson", "Taylor"]),
                },
                None,
            )
            if outcome.errors:
                raise ValueError(f"seed contact rejected: {outcome.errors}")
            created["contacts"] += 1
        active = [c for c in store.tables["Contacts"].values() if c.get("ContactStatus") == "ACTIVE"]
        if invoices and not active:
            raise ValueError("seed invoices need contacts (seed some first)")
        authorised: list[dict[str, Any]] = []
        for _index in range(invoices):
            contact = rng.choice(active)
            sales = rng.random() < 0.75
            day = date(2024, 1, 1) + timedelta(days=rng.randrange(0, 300))
            lines = [
                {
                    "Description": rng.choice(["Consulting", "Hosting", "Support", "Materials", "Training"]),
                    "Quantity": str(rng.randint(1, 10)),
                    "UnitAmount": f"{rng.randint(500, 50_000) / 100:.2f}",
                    "AccountCode": "200" if sales else "429",
                    "TaxType": sales_tax if sales else purchase_tax,
                }
                for _ in range(max(lines_per_invoice, 1))
            ]
            status = rng.choice(["DRAFT", "AUTHORISED", "AUTHORISED"])
            outcome = entities.save_invoice(
                wc,
                {
                    "Type": "ACCREC" if sales else "ACCPAY",
                    "Contact": {"ContactID": contact["ContactID"]},
                    "Date": day.isoformat(),
                    "DueDate": (day + timedelta(days=30)).isoformat(),
                    "Reference": f"SEED-{seed}-{_index + 1}",
                    "Status": status,
                    "LineAmountTypes": "Exclusive",
                    "LineItems": lines,
                },
                None,
            )
            if outcome.errors or outcome.record is None:
                raise ValueError(f"seed invoice rejected: {outcome.errors}")
            created["invoices"] += 1
            if status == "AUTHORISED":
                authorised.append(outcome.record)
        bank = next(a for a in store.tables["Accounts"].values() if a["Type"] == "BANK")
        for invoice in authorised[:payments]:
            outcome = entities.save_payment(
                wc,
                {
                    "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                    "Account": {"AccountID": bank["AccountID"]},
                    "Date": (invoice["Date"] + timedelta(days=rng.randrange(1, 30))).isoformat(),
                    "Amount": str(invoice["AmountDue"]),
                    "Reference": "Seeded payment",
                },
                None,
            )
            if outcome.errors:
                raise ValueError(f"seed payment rejected: {outcome.errors}")
            created["payments"] += 1
    return created


def create_organisation_store(
    *,
    tenant_id: str,
    name: str,
    country_code: str,
    base_currency: str,
    created: datetime,
    seed_defaults: bool = True,
    period_lock_date: date | None = None,
) -> OrganisationStore:
    store = OrganisationStore(
        tenant_id=tenant_id,
        name=name,
        country_code=country_code,
        base_currency=base_currency,
        created=created,
        period_lock_date=period_lock_date,
    )
    if seed_defaults:
        seed_organisation_defaults(store)
    return store
