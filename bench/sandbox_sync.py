"""Benchmark: seed N invoices x 3 lines into the Exact sandbox and page them all through sync over real HTTP.

Run: .venv/bin/python bench/sandbox_sync.py --invoices 100000
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.exact.sandbox.server import SandboxServer

REDIRECT_URI = "https://bench.example.test/callback"
SELECT = "Timestamp,ID,InvoiceID,InvoiceNumber,LineNumber,Item,Quantity,UnitPrice,AmountFC,VATAmountFC,InvoiceTo"


def _peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _access_token(server: SandboxServer, http: httpx.Client, division: int) -> str:
    control = server.control
    app = control.register_app(redirect_uris=[REDIRECT_URI], name="bench", webhook_secret="bench")
    user = control.register_user(username="bench", region="nl", full_name="Bench User")
    control.register_division(code=division, name="Bench BV", region="nl", users=[user["user_id"]])
    control.set_auto_consent(app["client_id"], user_id=user["user_id"], divisions=None)
    # The benchmark measures paging, not Exact's 60 calls/minute limit.
    control.set_limits(minutely_limit=1_000_000, daily_limit=10_000_000)
    base = server.base_url("nl")
    auth = http.get(
        f"{base}/api/oauth2/auth",
        params={"client_id": app["client_id"], "redirect_uri": REDIRECT_URI, "response_type": "code"},
    )
    code = httpx.URL(auth.headers["Location"]).params["code"]
    token = http.post(
        f"{base}/api/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
    )
    token.raise_for_status()
    return str(token.json()["access_token"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    division = 900001
    with SandboxServer(port=0, webhook_validation_delay=0) as server, httpx.Client(timeout=120) as http:
        token = _access_token(server, http, division)
        store = server.world.divisions[division].store

        from connectors.exact.sandbox import seed

        started = time.perf_counter()
        with server.world.lock:
            seed.seed_invoices(store, count=args.invoices, lines_per_invoice=args.lines, seed=args.seed)
        seed_seconds = time.perf_counter() - started
        rss_after_seed = _peak_rss_mb()

        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        url: str | None = f"{server.base_url('nl')}/api/v1/{division}/sync/SalesInvoice/SalesInvoices"
        params: dict[str, str] | None = {"$filter": "Timestamp gt 1L", "$select": SELECT}
        rows = pages = 0
        last_timestamp = 0
        started = time.perf_counter()
        while url:
            response = http.get(url, params=params, headers=headers)
            response.raise_for_status()
            data = response.json()["d"]
            for row in data["results"]:
                if row["Timestamp"] <= last_timestamp:
                    raise SystemExit("Timestamps out of order")
                last_timestamp = row["Timestamp"]
            rows += len(data["results"])
            pages += 1
            url, params = data.get("__next"), None
        paging_seconds = time.perf_counter() - started

    expected = args.invoices * args.lines
    print(f"invoices seeded     : {args.invoices:,} x {args.lines} lines")
    print(f"seed time           : {seed_seconds:.1f} s")
    print(f"peak RSS after seed : {rss_after_seed:.0f} MiB")
    print(f"paging time         : {paging_seconds:.1f} s ({pages:,} pages, {rows / paging_seconds:,.0f} rows/s)")
    print(f"rows paged          : {rows:,} (expected {expected:,})")
    print(f"peak RSS            : {_peak_rss_mb():.0f} MiB")
    if rows != expected:
        raise SystemExit("row count mismatch")


if __name__ == "__main__":
    main()
