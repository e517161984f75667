"""Codes to Exact GUIDs for writes, and the ledger-mapping check: one query per kind of code, `or`-joined.

- Mapping values are vendor *codes* (connectors.base.mapping); invoice lines need the Item and GLAccount GUIDs
  (NOTES.md: Entities), VAT codes and the journal stay codes (Journal is a code, never a GUID: picqer#31, #287).
- Codes are matched with `trim(Code) eq '…'`: Accounts.Code is padded to 18 characters (§4.4) and other
  master-data codes may be padded as well; trim() is slower than the padded value, but these tables are small
  and the lookups run once per write, so correctness wins.
- `RecordingLookup` lets the mapper run once without any call: it collects the codes a write needs and raises
  MappingMissing for gaps in the mapping itself before anything reaches Exact.
- `References` keeps the item and G/L account GUIDs a division answered in the shared reference cache
  (connectors.base.cache) for EXACT_REFERENCE_CACHE_SECONDS, so a steady stream of invoices costs no lookups. A
  code the cache lacks makes one query for every code of its kind the write needs (refreshing the cached ones
  too); a code Exact lacks is forgotten, never cached as missing. VAT codes and the journal need no lookup: an
  invoice names them by code. The mapping check (every mapping change) drops the division's entries and primes
  them with what it read; the provider drops them when Exact refuses a write that used cached ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from connectors.base.cache import ReferenceCache
from connectors.base.mapping import LedgerMapping
from connectors.exact.calls import DivisionApi
from connectors.exact.mappers import StaticLookup
from connectors.exact.odata import ODataQuery, eq, literal, or_, trim
from connectors.exact.values import strip_code

# Codes per request, and the most characters the percent-encoded $filter may take: Exact refuses URLs over 6,000
# characters (NOTES.md: Rate limits), and host, path and $select need the rest.
CODES_PER_QUERY = 40
MAX_ENCODED_FILTER = 4000
PLACEHOLDER_GUID = "00000000-0000-0000-0000-000000000000"

ITEMS = "logistics/Items"
GL_ACCOUNTS = "financial/GLAccounts"
VAT_CODES = "vat/VATCodes"
JOURNALS = "financial/Journals"
SALES_JOURNAL_TYPES = frozenset({20, 21})  # 20 sales, 21 return invoice (reference list of Journal.Type)
PURCHASE_JOURNAL_TYPES = frozenset({22, 23})  # 22 purchase, 23 received return invoice (the same list)


@dataclass
class RecordingLookup:
    """An ExactLookup that answers every code with a placeholder and remembers what was asked (no calls)."""

    items: set[str] = field(default_factory=set)
    gl_accounts: set[str] = field(default_factory=set)

    def item_id(self, code: str) -> str | None:
        self.items.add(code.strip())
        return PLACEHOLDER_GUID

    def gl_account_id(self, code: str) -> str | None:
        self.gl_accounts.add(code.strip())
        return PLACEHOLDER_GUID


# Cache entry names per kind of code: "item:CONSULT", "gl:8000".
ITEM_KIND = "item"
GL_ACCOUNT_KIND = "gl"
_PATHS = {ITEM_KIND: ITEMS, GL_ACCOUNT_KIND: GL_ACCOUNTS}


def reference_scope(*, base_url: str, client_id: str, division: int | str) -> str:
    """The cache scope of one division as one app sees it on one host (another host is another Exact)."""
    host = hashlib.sha256(base_url.rstrip("/").encode()).hexdigest()[:12]
    return f"exact:{host}:{client_id}:{int(division)}"


@dataclass(frozen=True)
class Resolved:
    """GUIDs for the codes of one write, and which of them came from the cache (they may be stale)."""

    lookup: StaticLookup
    cached: frozenset[str] = frozenset()  # entry names ("item:CONSULT") answered by the cache


@dataclass
class References:
    """Item and G/L account GUIDs of one division: from the shared cache where it has them, else from Exact."""

    api: DivisionApi
    cache: ReferenceCache
    scope: str
    ttl_seconds: float

    def resolve(self, *, items: Iterable[str], gl_accounts: Iterable[str], fresh: bool = False) -> Resolved:
        """GUIDs for the codes; `fresh` asks Exact for all of them (after it refused a write with cached ones)."""
        found: dict[str, dict[str, str]] = {}
        cached: set[str] = set()
        wanted_by_kind = {
            kind: {code.strip() for code in codes if code and code.strip()}
            for kind, codes in ((ITEM_KIND, items), (GL_ACCOUNT_KIND, gl_accounts))
        }
        names_by_kind = {kind: {f"{kind}:{code}": code for code in wanted} for kind, wanted in wanted_by_kind.items()}
        # Both kinds in one read of the cache (one round trip for the write, not one per kind).
        every_name = [name for names in names_by_kind.values() for name in names]
        all_hits = {} if fresh or not self.ttl_seconds else self.cache.get_many(self.scope, every_name)
        for kind, wanted in wanted_by_kind.items():
            names = names_by_kind[kind]
            hits = {name: guid for name, guid in all_hits.items() if name in names}
            if len(hits) == len(names):
                found[kind] = {names[name]: guid for name, guid in hits.items()}
                cached.update(hits)
                continue
            # A miss: one query for every code of this kind the write needs, so the cached ones are refreshed too.
            guids = guids_by_code(self.api, _PATHS[kind], wanted) if wanted else {}
            self.remember(kind, guids)
            gone = [name for name, code in names.items() if code not in guids]
            if gone:
                self.cache.forget(self.scope, gone)  # Exact lacks them: the mapper raises MappingMissing
            found[kind] = guids
        return Resolved(
            lookup=StaticLookup(items=found.get(ITEM_KIND, {}), gl_accounts=found.get(GL_ACCOUNT_KIND, {})),
            cached=frozenset(cached),
        )

    def remember(self, kind: str, guids: Mapping[str, str]) -> None:
        if self.ttl_seconds and guids:
            self.cache.put_many(
                self.scope, {f"{kind}:{code}": guid for code, guid in guids.items()}, ttl_seconds=self.ttl_seconds
            )

    def forget(self, names: Iterable[str] | None = None) -> None:
        self.cache.forget(self.scope, None if names is None else list(names))


def rows_by_code(api: DivisionApi, path: str, codes: Iterable[str], select: tuple[str, ...]) -> dict[str, Any]:
    """{stripped code: Exact row} for those of `codes` that exist at `path` (one call per 40 codes)."""
    wanted = sorted({code.strip() for code in codes if code and code.strip()})
    found: dict[str, Any] = {}
    for chunk in _chunks(wanted):
        query = ODataQuery(select=("Code", *select), filter=or_(*(eq(trim("Code"), code) for code in chunk)))
        for row in api.records(path, query):
            code = strip_code(row.get("Code"))
            if code is not None:
                found[code] = row
    return found


def _chunks(codes: list[str]) -> Iterator[list[str]]:
    """Groups of at most CODES_PER_QUERY codes whose encoded `or` filter stays within MAX_ENCODED_FILTER."""
    chunk: list[str] = []
    size = 0
    for code in codes:
        clause = len(quote(f"(trim(Code) eq {literal(code)}) or ", safe=""))
        if chunk and (len(chunk) == CODES_PER_QUERY or size + clause > MAX_ENCODED_FILTER):
            yield chunk
            chunk, size = [], 0
        chunk.append(code)
        size += clause
    if chunk:
        yield chunk


def guids_by_code(api: DivisionApi, path: str, codes: Iterable[str]) -> dict[str, str]:
    return {code: str(row["ID"]) for code, row in rows_by_code(api, path, codes, ("ID",)).items()}


def mapping_problems(
    api: DivisionApi, mapping: LedgerMapping, references: References | None = None
) -> list[tuple[str, str]]:
    """(field, reason) for every code in `mapping` the division lacks; one query per kind of code.

    With `references`, the item and G/L account GUIDs it read are remembered for the writes that follow.
    """
    problems: list[tuple[str, str]] = []
    vat_codes = {rule.vendor_code.strip() for rule in mapping.tax_rates}
    if vat_codes:
        existing = rows_by_code(api, VAT_CODES, vat_codes, ("VATTransactionType",))
        for index, rule in enumerate(mapping.tax_rates):
            code = rule.vendor_code.strip()
            if code not in existing:
                problems.append((f"tax_rates.{index}.vendor_code", f"Exact has no VAT code '{code}' in this division."))
            elif str(existing[code].get("VATTransactionType") or "").strip() == "P":
                problems.append((f"tax_rates.{index}.vendor_code", f"VAT code '{code}' is for purchases only."))
    if mapping.default_revenue_ledger_account:
        code = mapping.default_revenue_ledger_account.strip()
        gl_accounts = rows_by_code(api, GL_ACCOUNTS, [code], ("ID",))
        if references is not None:
            references.remember(GL_ACCOUNT_KIND, {found: str(row["ID"]) for found, row in gl_accounts.items()})
        if code not in gl_accounts:
            problems.append(("default_revenue_ledger_account", f"Exact has no G/L account '{code}' in this division."))
    if mapping.default_sales_journal:
        code = mapping.default_sales_journal.strip()
        journals = rows_by_code(api, JOURNALS, [code], ("Type",))
        if code not in journals:
            problems.append(("default_sales_journal", f"Exact has no journal '{code}' in this division."))
        elif journals[code].get("Type") not in SALES_JOURNAL_TYPES:
            problems.append(("default_sales_journal", f"Journal '{code}' is not a sales journal."))
    if mapping.default_purchase_journal:
        code = mapping.default_purchase_journal.strip()
        journals = rows_by_code(api, JOURNALS, [code], ("Type",))
        if code not in journals:
            problems.append(("default_purchase_journal", f"Exact has no journal '{code}' in this division."))
        elif journals[code].get("Type") not in PURCHASE_JOURNAL_TYPES:
            problems.append(("default_purchase_journal", f"Journal '{code}' is not a purchase journal."))
    item_codes = {
        **({"default_item": mapping.default_item.strip()} if mapping.default_item else {}),
        **{f"items_by_code.{unified}": vendor.strip() for unified, vendor in mapping.items_by_code.items()},
    }
    if item_codes:
        items = rows_by_code(api, ITEMS, item_codes.values(), ("ID",))
        if references is not None:
            references.remember(ITEM_KIND, {found: str(row["ID"]) for found, row in items.items()})
        for field_name, code in item_codes.items():
            if code not in items:
                problems.append((field_name, f"Exact has no item '{code}' in this division."))
    return problems
