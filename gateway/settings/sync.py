"""The local store's sync runs (unified_models.store): leases, schedules per resource, webhook handling."""

from gateway.settings.env import env

# Seconds a sync run's worker is presumed alive after its last committed batch; after that another run takes over
# from the checkpoint (a worker killed mid-backfill loses at most one batch). Longer than a batch plus the wait for
# the next rate-limit minute.
LEDGERBRIDGE_SYNC_LEASE_SECONDS = env.float("LEDGERBRIDGE_SYNC_LEASE_SECONDS", default=180.0)
# Seconds between incremental runs per resource (beat spreads the connections over the period). VAT codes and
# journals have no change feed (each run reads the whole set) and change rarely: they run less often.
LEDGERBRIDGE_SYNC_SCHEDULE = {
    "contacts": env.int("LEDGERBRIDGE_SYNC_CONTACTS_SECONDS", default=300),
    "invoices": env.int("LEDGERBRIDGE_SYNC_INVOICES_SECONDS", default=300),
    "ledger-accounts": env.int("LEDGERBRIDGE_SYNC_LEDGER_ACCOUNTS_SECONDS", default=900),
    "items": env.int("LEDGERBRIDGE_SYNC_ITEMS_SECONDS", default=900),
    "payments": env.int("LEDGERBRIDGE_SYNC_PAYMENTS_SECONDS", default=300),
    "tax-rates": env.int("LEDGERBRIDGE_SYNC_TAX_RATES_SECONDS", default=3600),
    "journals": env.int("LEDGERBRIDGE_SYNC_JOURNALS_SECONDS", default=3600),
    # Exact reads every purchase entry each run (no change feed): less often than sales invoices.
    "purchase-invoices": env.int("LEDGERBRIDGE_SYNC_PURCHASE_INVOICES_SECONDS", default=900),
    "journal-entries": env.int("LEDGERBRIDGE_SYNC_JOURNAL_ENTRIES_SECONDS", default=900),
    "sales-orders": env.int("LEDGERBRIDGE_SYNC_SALES_ORDERS_SECONDS", default=900),
    # Projects change seldom; hours are booked all day (each run reads the whole set: no bulk/ endpoint).
    "projects": env.int("LEDGERBRIDGE_SYNC_PROJECTS_SECONDS", default=3600),
    "time-entries": env.int("LEDGERBRIDGE_SYNC_TIME_ENTRIES_SECONDS", default=900),
    "cost-entries": env.int("LEDGERBRIDGE_SYNC_COST_ENTRIES_SECONDS", default=900),
    # The connection's company (name, VAT number, fiscal year): one call a run (two on the day's first, which reads
    # the fiscal periods), and it rarely changes.
    "company": env.int("LEDGERBRIDGE_SYNC_COMPANY_SECONDS", default=3600),
}
# Seconds between checks of each connection's sync epoch (Exact: a division move regenerates every Timestamp).
LEDGERBRIDGE_SYNC_EPOCH_SECONDS = env.int("LEDGERBRIDGE_SYNC_EPOCH_SECONDS", default=3600)
# Longest wait for the vendor's rate-limit window inside a run before the run gives up and leaves the rest to the
# next one (the checkpoint keeps what was done).
LEDGERBRIDGE_SYNC_MAX_RATE_WAIT = env.float("LEDGERBRIDGE_SYNC_MAX_RATE_WAIT", default=90.0)
# Seconds between checks that every connection still has its vendor webhook subscriptions (the vendor may drop
# one; unified_models/store/inbound.py creates it again). Each check is one call per connection.
LEDGERBRIDGE_INBOUND_CHECK_SECONDS = env.int("LEDGERBRIDGE_INBOUND_CHECK_SECONDS", default=3600)
