"""One organisation's data in the sandbox: records per resource, number sequences, idempotency keys."""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

TABLES: dict[str, str] = {
    "Contacts": "ContactID",
    "Invoices": "InvoiceID",
    "CreditNotes": "CreditNoteID",
    "Payments": "PaymentID",
    "Accounts": "AccountID",
    "TaxRates": "TaxType",
    "Items": "ItemID",
    "ManualJournals": "ManualJournalID",
}


# A new organisation's financial year end (day, month): the sandbox's choice (NOTES.md "Organisation"; Xero asks at
# set-up): 31 March in the UK and NZ, 30 June in Australia, 31 December elsewhere; the control API changes it.
DEFAULT_YEAR_END: dict[str, tuple[int, int]] = {"GB": (31, 3), "AU": (30, 6), "NZ": (31, 3)}


@dataclass
class StoredResponse:
    """The first answer to an Idempotency-Key, replayed for the same request (NOTES.md "Idempotency")."""

    fingerprint: str
    status: int
    body: bytes
    content_type: str
    stored_at: datetime


class OrganisationStore:
    """Records keyed by their ID (TaxRates by TaxType), in insertion order, with Xero-typed Python values."""

    def __init__(
        self,
        *,
        tenant_id: str,
        name: str,
        country_code: str,
        base_currency: str,
        created: datetime,
        period_lock_date: date | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.name = name
        self.country_code = country_code
        self.base_currency = base_currency
        self.created = created
        self.period_lock_date = period_lock_date
        # What GET Organisation shows besides the above (NOTES.md "Organisation"); TaxNumber and RegistrationNumber
        # only once set, as Xero shows them ("Shown if set"), through the control API's organisation settings.
        day, month = DEFAULT_YEAR_END.get(country_code, (31, 12))
        self.legal_name = name
        self.tax_number: str | None = None
        self.registration_number: str | None = None
        self.year_end_day = day
        self.year_end_month = month
        self.currencies: set[str] = {base_currency}
        self.tables: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in TABLES}
        self.sequences: dict[str, int] = {"INV": 0, "CN": 0, "TAX": 0}
        self.idempotency: dict[tuple[str, str], StoredResponse] = {}
        # (resource, record id) -> files, each with its bytes under "_content".
        self.attachments: dict[tuple[str, str], list[dict[str, Any]]] = {}
        # One writer at a time per organisation: validation, numbering and the idempotency check stay atomic.
        self.lock = threading.RLock()

    def next_number(self, sequence: str) -> int:
        self.sequences[sequence] += 1
        return self.sequences[sequence]

    def table(self, name: str) -> dict[str, dict[str, Any]]:
        return self.tables[name]

    def find(self, table: str, field: str, value: Any, *, casefold: bool = False) -> dict[str, Any] | None:
        """The first record whose `field` equals `value` (case-insensitively for names and codes)."""
        if value is None:
            return None
        wanted = str(value).strip().lower() if casefold else value
        for record in self.tables[table].values():
            current = record.get(field)
            if casefold and current is not None:
                current = str(current).strip().lower()
            if current == wanted:
                return record
        return None

    def prune_idempotency(self, now: datetime, ttl_seconds: float) -> None:
        stale = [k for k, v in self.idempotency.items() if (now - v.stored_at).total_seconds() > ttl_seconds]
        for key in stale:
            del self.idempotency[key]

    # ------------------------------------------------------------------ snapshots

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "name": self.name,
            "country_code": self.country_code,
            "base_currency": self.base_currency,
            "created": self.created.isoformat(),
            "period_lock_date": self.period_lock_date.isoformat() if self.period_lock_date else None,
            "currencies": sorted(self.currencies),
            "profile": {
                "legal_name": self.legal_name,
                "tax_number": self.tax_number,
                "registration_number": self.registration_number,
                "year_end_day": self.year_end_day,
                "year_end_month": self.year_end_month,
            },
            "sequences": dict(self.sequences),
            "tables": {name: [_encode(r) for r in rows.values()] for name, rows in self.tables.items()},
            "attachments": [
                {
                    "resource": resource,
                    "id": record_id,
                    "files": [
                        {
                            **{k: v for k, v in f.items() if k != "_content"},
                            "content": base64.b64encode(f["_content"]).decode("ascii"),
                        }
                        for f in files
                    ],
                }
                for (resource, record_id), files in self.attachments.items()
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrganisationStore:
        store = cls(
            tenant_id=data["tenant_id"],
            name=data["name"],
            country_code=data["country_code"],
            base_currency=data["base_currency"],
            created=datetime.fromisoformat(data["created"]),
            period_lock_date=date.fromisoformat(data["period_lock_date"]) if data.get("period_lock_date") else None,
        )
        store.currencies = set(data.get("currencies", [store.base_currency]))
        profile = data.get("profile") or {}
        store.legal_name = profile.get("legal_name", store.legal_name)
        store.tax_number = profile.get("tax_number")
        store.registration_number = profile.get("registration_number")
        store.year_end_day = int(profile.get("year_end_day", store.year_end_day))
        store.year_end_month = int(profile.get("year_end_month", store.year_end_month))
        store.sequences.update(data.get("sequences", {}))
        for item in data.get("attachments", []):
            store.attachments[(item["resource"], item["id"])] = [
                {**{k: v for k, v in f.items() if k != "content"}, "_content": base64.b64decode(f["content"])}
                for f in item["files"]
            ]
        for name, rows in data.get("tables", {}).items():
            key = TABLES[name]
            for row in rows:
                record = _decode(row)
                store.tables[name][record[key]] = record
        return store


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$dt"}:
            return datetime.fromisoformat(value["$dt"])
        if set(value) == {"$d"}:
            return date.fromisoformat(value["$d"])
        if set(value) == {"$dec"}:
            return Decimal(value["$dec"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value
