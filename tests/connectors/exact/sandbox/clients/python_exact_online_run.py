"""Runs `python-exact-online` 1.1.0 (alexander-schillemans) end to end; started by test_client_python_exact_online.

Runs in its own process because the distribution installs a top-level package `exactonline`, the same name as
ossobv's `exactonline` 0.4.0 (the two overwrite each other's __init__.py and its api.py is shadowed by the other's
api/ package); the test puts an unchanged copy of its files first on sys.path. Its configuration is left exactly
as published (https://start.exactonline.be/…): HTTPS_PROXY points requests at a tunnel to the sandbox, which
serves region be at its root with a certificate for that host. Prints one JSON line with what it saw.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import requests
from exactonline import config
from exactonline.api import ExactOnlineAPI
from exactonline.models.salesentries import SalesEntry, SalesEntryLine

REDIRECT_URI = "https://app.example.test/exact/callback"


def main(client_id: str, client_secret: str, advance_url: str) -> dict[str, Any]:
    seen: dict[str, Any] = {"base_url": config.BASE_URL}
    api = ExactOnlineAPI(client_id, client_secret)
    # The user's browser follows the library's authorization URL; auto-consent redirects at once.
    redirect = requests.get(api.authHandler.getAuthURL(REDIRECT_URI), allow_redirects=False, timeout=10)
    seen["auth_status"] = redirect.status_code
    api.authHandler.retrieveToken(redirect.headers["Location"])
    first_refresh = api.authHandler.refreshToken

    accounts = api.accounts.list(select=["ID", "Name"], filter={"Status": "C"})
    seen["accounts_error"] = accounts.error.message if accounts.hasError and accounts.error else None
    seen["account_ids"] = [account.ID for account in accounts.items()]
    seen["division"] = api.division

    # Refresh: past Exact's 570 s on the sandbox clock, and the library told its token is due.
    requests.post(advance_url, json={"seconds": 571}, timeout=10)
    api.authHandler.expiresOn = int(time.time())
    # list() with a select but no filter builds `GLAccounts&$select=…` (no "?"): a 404 on Exact too, so every
    # list here carries a filter (see the sandbox README's fidelity table).
    journals = api.journals.list(select=["Code", "Description"], filter={"Code": "70"})
    seen["refreshed"] = api.authHandler.refreshToken != first_refresh
    seen["journal_codes"] = [journal.Code for journal in journals.items()]

    gl = {}
    for code in ("8000", "8010"):
        for ledger in api.glAccounts.list(select=["ID", "Code"], filter={"Code": code}).items():
            gl[ledger.Code] = ledger.ID
    entry = SalesEntry(
        Customer=seen["account_ids"][0], Journal="70", YourRef="PEO-1", Description="python-exact-online"
    )
    for amount, code, vat in ((100.0, "8000", "2"), (39.95, "8010", "1")):
        entry.SalesEntryLines.add(SalesEntryLine(AmountFC=amount, GLAccount=gl[code], VATCode=vat))
    created = api.salesEntries.create(entry)
    seen["create_error"] = created.error.message if created.hasError and created.error else None
    if not created.hasError:
        fetched = api.salesEntries.get(created.EntryID)
        seen["entry"] = {
            "EntryID": fetched.EntryID,
            "YourRef": fetched.YourRef,
            "line_amounts": sorted(line.AmountFC for line in fetched.SalesEntryLines.items()),
        }
    return seen


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))
