"""Seeding: Exact-like defaults, deterministic bulk data, speed at small scale, JSON snapshots."""

from __future__ import annotations

import json
import time

import pytest

from connectors.exact.sandbox import seed
from connectors.exact.sandbox.store import DivisionStore, DuplicateKeyError, create_division_store

BASE = "http://sandbox.test/nl"


def _fresh(code: int = 100001) -> DivisionStore:
    return create_division_store(code=code, name="Test BV")


def test_defaults_are_a_dutch_administration() -> None:
    store = _fresh()
    gl_codes = {store.tables["GLAccounts"].value(k, "Code") for k in store.tables["GLAccounts"].rows}
    assert {"8000", "8010", "8020", "1300", "1600", "1100"} <= gl_codes
    vat = store.tables["VATCodes"]
    assert vat.value(vat.by_code("2"), "Percentage") == 0.21
    assert store.tables["Journals"].by_code("70") is not None
    assert len(store.tables["Accounts"].rows) == 3
    assert create_division_store(code=1, name="Leeg", seed_defaults=False).tables["Accounts"].rows == {}


def test_seeding_is_deterministic_per_seed() -> None:
    first, second, other = _fresh(), _fresh(), _fresh()
    for store in (first, second):
        assert seed.seed_accounts(store, count=20, seed=42) == 20
        assert seed.seed_invoices(store, count=30, seed=42) == 30
    seed.seed_accounts(other, count=20, seed=43)
    seed.seed_invoices(other, count=30, seed=43)
    assert first.dump(BASE) == second.dump(BASE)
    assert first.dump(BASE)["SalesInvoices"] != other.dump(BASE)["SalesInvoices"]


def test_invoices_create_a_customer_pool_when_none_exist() -> None:
    store = create_division_store(code=7, name="Zonder klanten", seed_defaults=False)
    seed.seed_division_defaults(store)
    for key in list(store.tables["Accounts"].rows):
        store.tables["Accounts"].rows.pop(key)
    seed.seed_invoices(store, count=5, lines_per_invoice=2, seed=1)
    assert len(store.tables["Accounts"].rows) == 50
    assert len(store.tables["SalesInvoiceLines"].rows) == 10


def test_seeded_amounts_add_up() -> None:
    store = _fresh()
    seed.seed_invoices(store, count=100, seed=9)
    dump = store.dump(BASE)
    lines_by_invoice: dict[str, list[dict]] = {}
    for line in dump["SalesInvoiceLines"]:
        lines_by_invoice.setdefault(line["InvoiceID"], []).append(line)
    for invoice in dump["SalesInvoices"]:
        lines = lines_by_invoice[invoice["InvoiceID"]]
        assert round(sum(line["AmountFC"] for line in lines), 2) == invoice["AmountFCExclVat"]
        assert round(sum(line["VATAmountFC"] for line in lines), 2) == invoice["VATAmountFC"]
        assert invoice["AmountFC"] == round(invoice["AmountFCExclVat"] + invoice["VATAmountFC"], 2)


def test_seeding_2000_invoices_is_fast() -> None:
    store = _fresh()
    started = time.perf_counter()
    seed.seed_invoices(store, count=2000, seed=1)
    # 100,000 x 3 lines must seed in under 30 s (bench/sandbox_sync.py); 2,000 is 2% of that.
    assert time.perf_counter() - started < 1.5
    assert len(store.tables["SalesInvoiceLines"].rows) == 6000


def test_snapshot_round_trip_is_json_safe() -> None:
    store = _fresh()
    seed.seed_invoices(store, count=20, seed=2)
    first_invoice = sorted(store.tables["SalesInvoices"].rows)[0]
    store.remove(
        "SalesInvoices",
        first_invoice,
        deleted_by=None,
        when=store.tables["Accounts"].value(sorted(store.tables["Accounts"].rows)[0], "Created"),
    )
    data = json.loads(json.dumps(store.to_json()))
    restored = DivisionStore.from_json(data)
    assert restored.dump(BASE) == store.dump(BASE)
    assert restored.timestamp == store.timestamp and restored.invoice_number == store.invoice_number
    # The restored store keeps writing where the original stopped.
    assert restored.next_timestamp() == store.timestamp + 1
    feed = restored.tables["SalesInvoiceLines"].feed
    assert feed is not None and feed.timestamps == sorted(feed.timestamps)


def test_insert_refuses_an_existing_key() -> None:
    store = _fresh()
    key = next(iter(store.tables["Accounts"].rows))
    name = store.tables["Accounts"].value(key, "Name")
    with pytest.raises(DuplicateKeyError):
        store.insert("Accounts", {"ID": key, "Name": "Overwritten"})
    assert store.tables["Accounts"].value(key, "Name") == name


def test_invoices_seeded_into_an_empty_division_do_not_reuse_account_guids() -> None:
    store = create_division_store(code=8, name="Leeg", seed_defaults=False)
    seed.seed_division_defaults(store)
    for key in list(store.tables["Accounts"].rows):
        store.tables["Accounts"].rows.pop(key)
    seed.seed_invoices(store, count=5, lines_per_invoice=2, seed=1)
    accounts = set(store.tables["Accounts"].rows)
    assert not accounts & (set(store.tables["SalesInvoices"].rows) | set(store.tables["SalesInvoiceLines"].rows))
