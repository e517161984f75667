"""A separate OS process for the shared-budget test: hammers one division until a deadline, prints what it saw.

Run as `python -m tests.connectors.exact.ratelimit_worker` with REDIS_URL, the sandbox world's environment and
LB_TEST_{TOKEN,CLIENT_ID,DIVISION} set. Prints "ready" once set up, reads "<start_at> <stop_at>" (epoch seconds)
from stdin, then prints one JSON line with what it saw.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter

import django

from connectors.exact.resources import EVERY_RECORD


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings.test")
    django.setup()
    from connectors.base.data import CallRecord
    from connectors.base.errors import VendorRateLimited
    from connectors.base.ratelimit import MINUTELY
    from connectors.exact.client import ExactClient
    from connectors.exact.odata import ODataQuery
    from connectors.registry import get_connector

    token = os.environ["LB_TEST_TOKEN"]
    division = int(os.environ["LB_TEST_DIVISION"])
    statuses: Counter[int] = Counter()
    ok_windows: Counter[int] = Counter()  # Exact's minutely reset (ms) -> successful calls counted in that window

    def on_call(call: CallRecord) -> None:
        statuses[call.status or 0] += 1
        minutely = call.window(MINUTELY)
        if call.status == 200 and minutely is not None:
            ok_windows[minutely.reset_ms] += 1

    client = ExactClient(
        base_url=get_connector("exact").region("nl").base_url,
        client_id=os.environ["LB_TEST_CLIENT_ID"],
        on_call=on_call,
    )
    query = ODataQuery(select=["ID"], filter=EVERY_RECORD, top=1)
    failed_fast = 0
    # Django and httpx start slowly on a busy machine: the test starts everyone together once all are ready.
    print("ready", flush=True)
    start_at, stop_at = (float(value) for value in sys.stdin.readline().split())
    time.sleep(max(0.0, start_at - time.time()))
    while time.time() < stop_at:
        vendor_429s = statuses[429]
        try:
            client.get("crm/Accounts", division=division, token_provider=lambda: token, query=query)
        except VendorRateLimited:
            if statuses[429] == vendor_429s:
                failed_fast += 1  # refused by our own budget before sending, not by Exact
    print(
        json.dumps(
            {
                "pid": os.getpid(),
                "statuses": {str(k): v for k, v in statuses.items()},
                "ok_windows": {str(k): v for k, v in ok_windows.items()},
                "failed_fast": failed_fast,
            }
        )
    )


if __name__ == "__main__":
    main()
