"""The gateway's own CPU per live list page, measured where the machine's load matters little.

Sets up what `gateway_overhead.py` does (the Exact sandbox in a process of its own, a redis-server of its own, a
PostgreSQL database dropped and created, production settings, a division connected through the real OAuth flow, 150
open invoices of 3 lines) and then sends `GET /api/v1/connections/<id>/invoices?page_size=60` through Django's
handler in this process (django.test.Client, one client). The sandbox's work is in its own process, so this
process's `process_time` per request is the gateway's CPU alone: p50 of `--requests` pages after `--warm` pages.

    .venv/bin/python bench/profile_list.py --database-url postgres://postgres@127.0.0.1:5432/profile
    .venv/bin/python bench/profile_list.py --profile 40       # and cProfile's top 40 functions by own time
    .venv/bin/python bench/profile_list.py --body page.json   # and the page's body, as sent, into a file

`--stages` also times each step of a page on the vendor's own answer (the same GET sent straight to the sandbox),
in this process without the rest of the request: decoding the vendor's JSON, cleaning its OData envelope, mapping
60 invoices, the records as the API writes them, and the JSON body (median of `--requests` repetitions each).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gateway_overhead import DIVISION, PAGE_SIZE, gateway_env  # noqa: E402
from bench.stack import connect_division, django_ready, free_port, own_redis, sandbox_process  # noqa: E402


def measure(args: argparse.Namespace, control: Any, api_key: str, connection: Any) -> dict[str, Any]:
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    path = f"/api/v1/connections/{connection.pk}/invoices"
    query = {"page_size": args.page_size, **({"include": "remote_data"} if args.remote_data else {})}

    def page() -> bytes:
        response = client.get(path, query)
        assert response.status_code == 200, response.content
        return bytes(response.content)

    for _ in range(args.warm):
        body = page()
    if args.body:
        Path(args.body).write_bytes(body)
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(args.requests):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        page()
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started_wall) * 1000)
    report: dict[str, Any] = {
        "requests": args.requests,
        "page_size": args.page_size,
        "remote_data": args.remote_data,
        "body_bytes": len(body),
        "gateway_cpu_ms_p50": round(statistics.median(cpu), 2),
        "gateway_cpu_ms_mean": round(statistics.mean(cpu), 2),
        "wall_ms_p50": round(statistics.median(wall), 2),
    }
    if args.stages:
        report["stages_ms_p50"] = stage_times(args, control, page, connection)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            page()
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(args.profile)
        stats.sort_stats("cumulative").print_stats(args.profile)
        print(out.getvalue(), file=sys.stderr)
    return report


def stage_times(args: argparse.Namespace, control: Any, page: Callable[[], bytes], connection: Any) -> dict[str, float]:
    """Each step of a live page, timed alone on the vendor's answer to the page's own GET."""
    import httpx
    from rest_framework.renderers import JSONRenderer

    from connectors.base.data import Resource
    from connectors.exact import mappers
    from connectors.exact.odata import unwrap_page
    from connectors.exact.resources import without_odata_noise
    from tenants.vendor_calls import connection_context
    from unified_models.specs import records_data

    control.clear_requests()
    page()
    (call,) = [entry for entry in control.requests() if "/api/v1/" in entry["path"]]
    headers = {"Authorization": f"Bearer {connection_context(connection).access_token()}", "Accept": "application/json"}
    answer = httpx.get(f"{control.base_url}{call['path']}", params=call["query"], headers=headers)
    content = answer.content
    if args.vendor_body:
        Path(args.vendor_body).write_bytes(content)
    rows = unwrap_page(answer.json()).records
    cleaned = [without_odata_noise(row) for row in rows]
    records = [mappers.invoice_from_exact(row, receivables=[]) for row in cleaned]
    bare = [record.without_remote_data() for record in records]
    results = records_data(Resource.INVOICES, bare)
    body = {"results": results, "next": "http://127.0.0.1/next", "source": "live", "synced_at": None}
    steps: dict[str, Callable[[], Any]] = {
        "vendor JSON decoded (httpx Response.json)": answer.json,
        "OData envelope cleaned (without_odata_noise)": lambda: [without_odata_noise(row) for row in rows],
        "60 invoices mapped (invoice_from_exact)": lambda: [
            mappers.invoice_from_exact(row, receivables=[]) for row in cleaned
        ],
        "remote_data dropped (without_remote_data)": lambda: [record.without_remote_data() for record in records],
        "records as the API writes them (records_data)": lambda: records_data(Resource.INVOICES, bare),
        "JSON body (the API's renderer)": lambda: JSONRenderer().render(body),
    }
    times: dict[str, float] = {"vendor answer bytes": len(content)}
    for name, step in steps.items():
        samples = []
        for _ in range(args.requests):
            started = time.process_time()
            step()
            samples.append((time.process_time() - started) * 1000)
        times[name] = round(statistics.median(samples), 3)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("OVERHEAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/overhead"),
        help="a PostgreSQL database the run may drop and create",
    )
    parser.add_argument("--requests", type=int, default=300, help="pages measured")
    parser.add_argument("--warm", type=int, default=30, help="pages sent first, not measured")
    parser.add_argument("--page-size", type=int, default=PAGE_SIZE, help="records per page (1: the fixed cost)")
    parser.add_argument("--remote-data", action="store_true", help="ask for include=remote_data")
    parser.add_argument("--profile", type=int, default=0, help="print cProfile's top N functions (to stderr)")
    parser.add_argument("--stages", action="store_true", help="also time each step of a page alone")
    parser.add_argument("--vendor-body", default="", help="with --stages: write the vendor's answer to this file")
    parser.add_argument("--body", default="", help="write the last warm-up page's body to this file")
    args = parser.parse_args()

    from cryptography.fernet import Fernet

    work = Path(tempfile.mkdtemp(prefix="ledgerbridge-profile-list-"))
    sandbox_port = free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    with own_redis(work) as redis_url:
        env = gateway_env(
            database_url=args.database_url,
            redis_url=redis_url,
            sandbox_url=sandbox_url,
            public_url=f"http://127.0.0.1:{free_port()}",
            keys=Fernet.generate_key().decode(),
        )
        with sandbox_process(env=env, log=work / "sandbox.log", port=sandbox_port):
            django_ready(env, args.database_url)
            from connectors.exact.sandbox.control_client import SandboxControl

            control = SandboxControl(sandbox_url)
            world = connect_division(
                control=control,
                root_url=sandbox_url,
                env=env,
                public_url=env["LEDGERBRIDGE_PUBLIC_URL"],
                name="Profile",
                division=DIVISION,
            )
            control.seed(DIVISION, invoices=150, lines_per_invoice=3, seed=1)
            report = measure(args, control, world["api_key"], world["connection"])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
