"""One division's data in the sandbox: compact record tables, the Timestamp rowversion, the deleted log."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from connectors.exact.sandbox.odata import to_wall

# sync/Deleted EntityType codes (NOTES.md: Sync, deleted and bulk) for the tables the sandbox keeps.
DELETED_ENTITY_TYPES: dict[str, int] = {
    "TransactionLines": 1,
    "Accounts": 2,
    "DocumentAttachments": 4,
    "Contacts": 5,
    "Documents": 6,
    "GLAccounts": 7,
    "Items": 9,
    "SalesInvoices": 13,
    "BankAccounts": 48,
}
TABLE_KEYS: dict[str, str] = {
    "Accounts": "ID",
    "Contacts": "ID",
    "SalesInvoices": "InvoiceID",
    "SalesInvoiceLines": "ID",
    "SalesEntries": "EntryID",
    "SalesEntryLines": "ID",
    "PurchaseEntries": "EntryID",
    "PurchaseEntryLines": "ID",
    "GeneralJournalEntries": "EntryID",
    "GeneralJournalEntryLines": "ID",
    "SalesOrders": "OrderID",
    "SalesOrderLines": "ID",
    "Projects": "ID",
    "TimeTransactions": "ID",
    "CostTransactions": "ID",
    "Employees": "ID",
    "Documents": "ID",
    "DocumentAttachments": "ID",
    "GLAccounts": "ID",
    "VATCodes": "ID",
    "Journals": "ID",
    "Items": "ID",
    "Receivables": "ID",
    "Payments": "ID",
    "WebhookSubscriptions": "ID",
    "TransactionLines": "ID",
    "BankAccounts": "ID",
    "DeductibilityPercentages": "ID",
    "VatPercentages": "ID",
}
# Child tables and the parent key that links them (for $expand, navigation and the nested POST).
LINE_PARENTS: dict[str, str] = {
    "SalesInvoiceLines": "InvoiceID",
    "SalesEntryLines": "EntryID",
    "PurchaseEntryLines": "EntryID",
    "GeneralJournalEntryLines": "EntryID",
    "SalesOrderLines": "OrderID",
    "BankAccounts": "Account",
    "DeductibilityPercentages": "GLAccount",
    "VatPercentages": "VATCodeID",
}
# Tables whose writes feed a sync endpoint, paged in Timestamp order (NOTES.md: Sync, deleted and bulk).
SYNC_TABLES = frozenset(
    {"Accounts", "Contacts", "GLAccounts", "Items", "Receivables", "SalesInvoiceLines", "TransactionLines"}
)
# (NOTES.md: Sync, deleted and bulk) "The deleted log is kept for 2 months only."
DELETED_RETENTION = timedelta(days=60)
# Exact's rowversions are large numbers and its sync sample starts at `Timestamp gt 1`; start well above.
FIRST_TIMESTAMP = 10_000

Row = list[Any]


class DuplicateKeyError(ValueError):
    """An insert whose key is already in the table (inserts never overwrite; updates go through update())."""


class SyncFeed:
    """Timestamp-ordered (timestamp, key) pairs, append-only: an update appends, the old pair goes stale.

    Timestamps only grow, so the lists stay sorted and a page is a bisect plus a forward walk.
    """

    __slots__ = ("keys", "stale", "timestamps")

    def __init__(self) -> None:
        self.timestamps: list[int] = []
        self.keys: list[str] = []
        self.stale = 0

    def append(self, timestamp: int, key: str, *, replaces: bool) -> None:
        self.timestamps.append(timestamp)
        self.keys.append(key)
        if replaces:
            self.stale += 1

    def after(self, timestamp: int) -> Iterator[tuple[int, str]]:
        """Pairs with a timestamp above `timestamp`, oldest first (stale pairs included)."""
        start = bisect_right(self.timestamps, timestamp)
        return zip(self.timestamps[start:], self.keys[start:], strict=True)

    def compact(self, current: Callable[[str], int | None]) -> None:
        """Drop stale pairs once they outnumber live ones; `current(key)` is the live timestamp or None."""
        if self.stale <= len(self.keys) // 2:
            return
        pairs = [(ts, key) for ts, key in zip(self.timestamps, self.keys, strict=True) if current(key) == ts]
        self.timestamps = [ts for ts, _ in pairs]
        self.keys = [key for _, key in pairs]
        self.stale = 0


class Table:
    """Records of one entity, each packed as a list aligned to the table's field layout.

    Only fields that were ever set get a column, so a record costs a list of its set fields rather than a
    dict of all ~100 Exact properties; Exact's full JSON shape is built at render time.
    """

    __slots__ = ("_codes", "_sorted", "children", "feed", "fields", "key", "layout", "name", "rows")

    def __init__(self, name: str, key: str) -> None:
        self.name = name
        self.key = key
        self.layout: dict[str, int] = {}
        self.fields: list[str] = []
        self.rows: dict[str, Row] = {}
        self._sorted: list[str] | None = None
        self._codes: dict[str, str] | None = None
        # Line tables: parent key -> line keys in line order.
        self.children: dict[str, list[str]] | None = {} if name in LINE_PARENTS else None
        self.feed: SyncFeed | None = SyncFeed() if name in SYNC_TABLES else None

    def column(self, name: str) -> int:
        index = self.layout.get(name)
        if index is None:
            index = self.layout[name] = len(self.fields)
            self.fields.append(name)
        return index

    def getter(self, name: str) -> Callable[[Row], Any]:
        """A fast row -> value accessor (None when the field was never set)."""
        index = self.layout.get(name)
        if index is None:
            return _none
        return lambda row: row[index] if index < len(row) else None

    def pack(self, values: dict[str, Any]) -> Row:
        indexes = [(self.column(name), value) for name, value in values.items() if value is not None]
        row: Row = [None] * (max((i for i, _ in indexes), default=-1) + 1)
        for index, value in indexes:
            row[index] = value
        return row

    def unpack(self, row: Row) -> dict[str, Any]:
        return {name: value for name, value in zip(self.fields, row, strict=False) if value is not None}

    def get(self, key: str) -> dict[str, Any] | None:
        row = self.rows.get(key)
        return None if row is None else self.unpack(row)

    def value(self, key: str, name: str) -> Any:
        row = self.rows.get(key)
        index = self.layout.get(name)
        if row is None or index is None or index >= len(row):
            return None
        return row[index]

    def sorted_keys(self) -> list[str]:
        """Keys in key order, cached until the next insert or delete (pages bisect into it)."""
        if self._sorted is None:
            self._sorted = sorted(self.rows)
        return self._sorted

    def by_code(self, code: str) -> str | None:
        """The key of the record whose Code is `code` (GL accounts, VAT codes, journals, items)."""
        if self._codes is None:
            code_of = self.getter("Code")
            self._codes = {str(code_of(row)).strip(): key for key, row in self.rows.items() if code_of(row)}
        return self._codes.get(str(code).strip())

    def invalidate(self, *, keys: bool) -> None:
        self._codes = None
        if keys:
            self._sorted = None


def _none(row: Row) -> None:
    return None


class DivisionStore:
    """All records of one Exact division, its Timestamp rowversion, deleted log and number sequences."""

    def __init__(self, *, code: int, name: str, currency: str = "EUR", country: str = "NL") -> None:
        self.code = code
        self.name = name
        self.currency = currency
        self.country = country
        self.timestamp = FIRST_TIMESTAMP
        self.invoice_number = 0
        self.tables: dict[str, Table] = {name: Table(name, key) for name, key in TABLE_KEYS.items()}
        # sync/Deleted rows: (Timestamp, ID, EntityKey, EntityType, DeletedBy, DeletedDate), in Timestamp order.
        self.deleted: list[tuple[int, str, str, int, str | None, datetime]] = []
        self.deleted_timestamps: list[int] = []
        # When the division last moved to another database (system/Divisions DivisionMoveDate); None: never.
        self.move_date: datetime | None = None

    # ------------------------------------------------------------------------------------------ writes

    def move(self, when: datetime) -> None:
        """The division moved to another database: every Timestamp is regenerated, from the start of the counter
        again (so a client's stored `Timestamp gt <last>` misses what changes next), and DivisionMoveDate is set
        (NOTES.md: Divisions; Sync, deleted and bulk)."""
        self.timestamp = FIRST_TIMESTAMP
        for table in self.tables.values():
            if "Timestamp" not in table.layout:
                continue
            index = table.layout["Timestamp"]
            stamp_of = table.getter("Timestamp")
            if table.feed is not None:
                table.feed = SyncFeed()
            for key, row in sorted(table.rows.items(), key=lambda item: stamp_of(item[1]) or 0):
                timestamp = self.next_timestamp()
                if index >= len(row):
                    row.extend([None] * (index + 1 - len(row)))
                row[index] = timestamp
                if table.feed is not None:
                    table.feed.append(timestamp, key, replaces=False)
        self.deleted = [(self.next_timestamp(), *entry[1:]) for entry in self.deleted]  # type: ignore[misc]
        self.deleted_timestamps = [entry[0] for entry in self.deleted]
        self.move_date = when

    def next_timestamp(self) -> int:
        """Exact's rowversion: one counter per division, bumped by every write."""
        self.timestamp += 1
        return self.timestamp

    def next_invoice_number(self) -> int:
        self.invoice_number += 1
        return self.invoice_number

    def insert(self, table_name: str, values: dict[str, Any]) -> dict[str, Any]:
        table = self.tables[table_name]
        key = values[table.key]
        if key in table.rows:
            raise DuplicateKeyError(f"{table_name} already has a record with {table.key} {key}")
        values = {**values, "Timestamp": self.next_timestamp()}
        table.rows[key] = table.pack(values)
        table.invalidate(keys=True)
        if table.children is not None:
            table.children.setdefault(values[LINE_PARENTS[table_name]], []).append(key)
        if table.feed is not None:
            table.feed.append(values["Timestamp"], key, replaces=False)
        return values

    def update(self, table_name: str, key: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply `changes` (None clears a field) and give the record a new Timestamp."""
        table = self.tables[table_name]
        values = table.unpack(table.rows[key])
        values.update(changes)
        values["Timestamp"] = self.next_timestamp()
        table.rows[key] = table.pack(values)
        table.invalidate(keys=False)
        if table.feed is not None:
            table.feed.append(values["Timestamp"], key, replaces=True)
            table.feed.compact(lambda k: table.value(k, "Timestamp"))
        return {k: v for k, v in values.items() if v is not None}

    def touch(self, table_name: str, key: str) -> None:
        """A new Timestamp without other changes (an invoice's rows when one of its lines changed)."""
        self.update(table_name, key, {})

    def remove(self, table_name: str, key: str, *, deleted_by: str | None, when: datetime) -> None:
        table = self.tables[table_name]
        row = table.rows.pop(key)
        table.invalidate(keys=True)
        if table.children is not None:
            parent = table.getter(LINE_PARENTS[table_name])(row)
            siblings = table.children.get(parent, [])
            if key in siblings:
                siblings.remove(key)
        if table.feed is not None:
            table.feed.stale += 1
            # A deleted key's pair is stale too; compact like update() does, or deletes would grow the feed forever.
            table.feed.compact(lambda k: table.value(k, "Timestamp"))
        entity_type = DELETED_ENTITY_TYPES.get(table_name)
        if entity_type is not None:
            self.log_deleted(key, entity_type, deleted_by=deleted_by, when=when)

    def log_deleted(self, key: str, entity_type: int, *, deleted_by: str | None, when: datetime) -> None:
        from uuid import uuid4

        timestamp = self.next_timestamp()
        self.deleted.append((timestamp, str(uuid4()), key, entity_type, deleted_by, when))
        self.deleted_timestamps.append(timestamp)

    def prune_deleted(self, now: datetime) -> int:
        """Drop deleted-log entries older than DELETED_RETENTION at `now` (the sandbox clock); returns how many.

        Entries are in Timestamp order and the clock only moves forward, so the old ones form a prefix.
        """
        cutoff = to_wall(now) - DELETED_RETENTION
        count = 0
        for entry in self.deleted:
            if to_wall(entry[5]) >= cutoff:
                break
            count += 1
        if count:
            del self.deleted[:count]
            del self.deleted_timestamps[:count]
        return count

    def children(self, table_name: str, parent: str) -> list[str]:
        table = self.tables[table_name]
        assert table.children is not None
        return table.children.get(parent, [])

    # ------------------------------------------------------------------------------------------ helpers

    def subscriptions(self, topic: str | None = None) -> list[dict[str, Any]]:
        """Stored webhook subscriptions (for the platform's delivery), optionally of one topic."""
        table = self.tables["WebhookSubscriptions"]
        records = [table.unpack(row) for row in table.rows.values()]
        return [r for r in records if topic is None or r.get("Topic") == topic]

    # ------------------------------------------------------------------------------------------ snapshots

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe snapshot (datetimes tagged as {"$dt": iso})."""
        return {
            "code": self.code,
            "name": self.name,
            "currency": self.currency,
            "country": self.country,
            "timestamp": self.timestamp,
            "invoice_number": self.invoice_number,
            "move_date": self.move_date.isoformat() if self.move_date else None,
            "deleted": [[ts, i, k, t, by, when.isoformat()] for ts, i, k, t, by, when in self.deleted],
            "tables": {
                name: {
                    "fields": list(table.fields),
                    "rows": [[_encode(v) for v in row] for row in table.rows.values()],
                }
                for name, table in self.tables.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DivisionStore:
        store = cls(code=data["code"], name=data["name"], currency=data["currency"], country=data["country"])
        store.timestamp = data["timestamp"]
        store.invoice_number = data["invoice_number"]
        store.move_date = datetime.fromisoformat(data["move_date"]) if data.get("move_date") else None
        for ts, i, k, t, by, when in data["deleted"]:
            store.deleted.append((ts, i, k, t, by, datetime.fromisoformat(when)))
            store.deleted_timestamps.append(ts)
        for name, snapshot in data["tables"].items():
            table = store.tables[name]
            for field_name in snapshot["fields"]:
                table.column(field_name)
            key_of = table.getter(table.key)
            rows = [[_decode(v) for v in row] for row in snapshot["rows"]]
            for row in rows:
                table.rows[key_of(row)] = row
            if table.children is not None:
                parent_of = table.getter(LINE_PARENTS[name])
                order_of = table.getter("LineNumber")
                for row in sorted(rows, key=lambda r: order_of(r) or 0):
                    table.children.setdefault(parent_of(row), []).append(key_of(row))
            if table.feed is not None:
                ts_of = table.getter("Timestamp")
                for row in sorted(rows, key=ts_of):
                    table.feed.append(ts_of(row), key_of(row), replaces=False)
        return store

    def dump(self, base_url: str) -> dict[str, list[dict[str, Any]]]:
        """Every record per entity name in Exact's JSON shape (as GET returns it, lines deferred)."""
        from connectors.exact.sandbox.resources import dump_store

        return dump_store(self, base_url)


def _encode(value: Any) -> Any:
    return {"$dt": value.isoformat()} if isinstance(value, datetime) else value


def _decode(value: Any) -> Any:
    return datetime.fromisoformat(value["$dt"]) if isinstance(value, dict) else value


def create_division_store(
    *, code: int, name: str, currency: str = "EUR", country: str = "NL", seed_defaults: bool = True
) -> DivisionStore:
    """A new division; with `seed_defaults` it gets Exact-like GL accounts, VAT codes, journals, items."""
    store = DivisionStore(code=code, name=name, currency=currency, country=country)
    if seed_defaults:
        from connectors.exact.sandbox.seed import seed_division_defaults

        seed_division_defaults(store)
    return store
