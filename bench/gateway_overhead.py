"""Gateway overhead: what one unified operation costs in vendor calls, SQL and time, next to the vendor calls alone.

One command starts everything it measures, as an operator runs it: the Exact sandbox in a process of its own
(`manage.py exact_sandbox`), a redis-server of its own, PostgreSQL (a database it drops and creates), and gunicorn
with `deploy/gunicorn.conf.py`, production settings and 2 workers (of 4 threads each, as the configuration runs
them). It connects a division through the real OAuth flow, saves the mapping with `PUT /mapping`, and then
prints, in one run:

1. Vendor calls per unified operation (the sandbox's own counters): contact create, invoice create (the first
   after `PUT /mapping`, the first with a cold reference cache, and the average over 50 creates on the
   connection, then 10 creates whose second line names an item without a G/L account), invoice retrieve, a
   60-record invoice page.
2. SQL statements per request: the same requests run once more through Django's handler in this process (same
   settings, same database) with every statement captured.
3. Latency, p50/p95: each gateway request and the vendor calls it makes, sent directly to the sandbox with the
   same token, paths and queries, interleaved request by request so both see the same machine. After each
   gateway request an untimed `GET /healthz` on the same keep-alive connection waits for the work that request
   left until after its answer (a read's call-log rows, a write's outcome transaction): a gunicorn worker reads a
   connection's next request only once the previous one's `close()` has run. That work never runs inside the
   next timing, where it would slow a direct call and make the overhead look smaller than it is; and nothing
   sleeps between requests (a process woken from idle answers slower, which would time the machine's idle
   states rather than the gateway).
4. Throughput with 8 concurrent clients: the gateway's 60-record page, the sandbox serving the same page
   directly, and the gateway's own trivial endpoints (`/healthz`, `GET /api/v1/workspace`).
5. Worker RSS (from /proc) before and after 2,000 more requests.

    .venv/bin/python bench/gateway_overhead.py --database-url postgres://postgres@127.0.0.1:5432/overhead

The machine may be shared with other work: latencies and throughput are noisy, counts are exact.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stack import (  # noqa: E402  (after the path set-up, like the other benchmarks)
    Stack,
    children_of,
    connect_division,
    django_ready,
    free_port,
    own_redis,
    production_env,
    running,
    sandbox_process,
)

DIVISION = 101
CLIENT_ID = "3f1c2a4e-0000-4000-8000-0000000000b6"
PAGE_SIZE = 60  # Exact's page on CRUD endpoints: one vendor call per unified page
PARTS = ("calls", "sql", "latency", "throughput", "rss")  # the sections of the report, in order
MAPPING = {
    "tax_rates": [
        {"rate": "21", "vendor_code": "2"},
        {"rate": "9", "vendor_code": "1"},
        {"code": "zero", "vendor_code": "0"},
    ],
    "default_revenue_ledger_account": "8000",
    "default_sales_journal": "70",
    "default_item": "CONSULT",
    "items_by_code": {"handbook": "BOOK"},
}


def invoice_body(contact_id: str, reference: str, *, item_line: bool = False) -> dict[str, Any]:
    """Two lines on the mapping's default item: each names its description, price and rate, so Exact has nothing to
    fill in and the create is the POST alone. With `item_line` the second line names an item (by unified code)
    without a G/L account: Exact takes the item's revenue account, and the lines are read after the POST."""
    second: dict[str, Any] = {"description": "Handbook", "quantity": "1", "unit_price": "39.95", "tax_rate": "9"}
    if item_line:
        second["item_code"] = "handbook"
    return {
        "contact_id": contact_id,
        "reference": reference,
        "description": "Overhead run",
        "lines": [{"description": "Consultancy", "quantity": "2", "unit_price": "100.00", "tax_rate": "21"}, second],
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# ---------------------------------------------------------------------------------------------- processes


def gateway_env(*, database_url: str, redis_url: str, sandbox_url: str, public_url: str, keys: str) -> dict[str, str]:
    return {
        **production_env(
            name="overhead",
            client_id=CLIENT_ID,
            database_url=database_url,
            redis_url=redis_url,
            sandbox_url=sandbox_url,
            public_url=public_url,
            keys=keys,
        ),
        # The gateway's own per-key limit (1200/min) would throttle the throughput runs: they measure capacity.
        "API_RATE_LIMIT": "10000000/min",
        # Persistent database connections, as the deployment runs them (deploy/kubernetes/base/configmap.yaml):
        # without, every request opens a PostgreSQL connection (a backend process forked per request).
        "DATABASE_CONN_MAX_AGE": "60",
    }


# ---------------------------------------------------------------------------------------------- measuring


class Bench:
    def __init__(self, *, gateway_url: str, sandbox_url: str, control: Any, api_key: str, connection: Any) -> None:
        self.gateway_url = gateway_url
        self.sandbox_url = sandbox_url
        self.control = control
        self.connection = connection
        self.base = f"{gateway_url}/api/v1/connections/{connection.pk}"
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.http = httpx.Client(timeout=60.0)
        self.sandbox = httpx.Client(timeout=60.0)

    # --- vendor calls -------------------------------------------------------------------------------------
    def vendor_calls(self) -> dict[str, dict[str, int]]:
        calls: dict[str, dict[str, int]] = self.control.counters()["calls"]
        return {endpoint: statuses for endpoint, statuses in calls.items() if not endpoint.startswith("oauth2")}

    def counted(self, send: Callable[[], httpx.Response]) -> tuple[httpx.Response, int, list[dict[str, Any]]]:
        """The response, the division calls it made, and those calls as the sandbox logged them."""
        self.control.reset_counters()
        self.control.clear_requests()
        response = send()
        calls = sum(sum(statuses.values()) for statuses in self.vendor_calls().values())
        logged = [entry for entry in self.control.requests() if "/api/v1/" in entry["path"]]
        return response, calls, logged

    # --- the gateway --------------------------------------------------------------------------------------
    def create_invoice(self, contact_id: str, reference: str, *, item_line: bool = False) -> httpx.Response:
        response = self.http.post(
            f"{self.base}/invoices",
            json=invoice_body(contact_id, reference, item_line=item_line),
            headers={**self.headers, "Idempotency-Key": reference},
        )
        assert response.status_code == 201, response.text
        return response

    def timed_settled(self, send: Callable[[], httpx.Response]) -> float:
        """The milliseconds `send()` took; then, untimed, a `GET /healthz` on the same connection, answered once the
        gateway's work after the first answer is done (see the module doc, item 3)."""
        took = timed(send)
        assert self.http.get(f"{self.gateway_url}/healthz").status_code == 200
        return took

    def get(self, path: str, **params: Any) -> httpx.Response:
        response = self.http.get(f"{self.base}/{path}", params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        return response

    # --- the vendor directly ------------------------------------------------------------------------------
    def token(self) -> str:
        from tenants.vendor_calls import connection_context

        return connection_context(self.connection).access_token()

    def replay(self, logged: list[dict[str, Any]], token: str) -> None:
        """The GETs the gateway made, sent straight to the sandbox (same paths and queries, same token)."""
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        for entry in logged:
            assert entry["method"] == "GET"
            response = self.sandbox.get(f"{self.sandbox_url}{entry['path']}", params=entry["query"], headers=headers)
            assert response.status_code == 200, response.text

    def direct_create(self, payload: str, lines_query: dict[str, Any] | None, token: str) -> None:
        """What the gateway sends for a steady-state invoice: the POST, and with `lines_query` the read of its lines."""
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Prefer": "return=representation",
        }
        base = f"{self.sandbox_url}/nl/api/v1/{DIVISION}/salesinvoice"
        created = self.sandbox.post(f"{base}/SalesInvoices", content=payload, headers=headers)
        assert created.status_code == 201, created.text
        if lines_query is None:
            return
        invoice_id = created.json()["d"]["InvoiceID"]
        query = {**lines_query, "$filter": f"InvoiceID eq guid'{invoice_id}'"}
        lines = self.sandbox.get(f"{base}/SalesInvoiceLines", params=query, headers=headers)
        assert lines.status_code == 200, lines.text


def exact_payload(contact_id: str, reference: str, *, item_line: bool = False) -> dict[str, Any]:
    """The POST body the connector builds for `invoice_body` (its own mapper, the division's GUIDs)."""
    from decimal import Decimal

    from connectors.base.mapping import LedgerMapping
    from connectors.base.records import InvoiceInput, InvoiceLineInput
    from connectors.exact import lookups, mappers

    body = invoice_body(contact_id, reference, item_line=item_line)
    invoice = InvoiceInput(
        contact_id=contact_id,
        reference=reference,
        description=body["description"],
        lines=tuple(
            InvoiceLineInput(
                description=line["description"],
                quantity=Decimal(line["quantity"]),
                unit_price=Decimal(line["unit_price"]),
                tax_rate=Decimal(line["tax_rate"]),
                item_code=line.get("item_code"),
            )
            for line in body["lines"]
        ),
    )
    mapping = LedgerMapping.from_dict(MAPPING)
    wanted = lookups.RecordingLookup()
    mappers.invoice_to_exact(invoice, mapping=mapping, resolve=wanted)
    return {"invoice": invoice, "mapping": mapping, "wanted": wanted}


def timed(send: Callable[[], Any]) -> float:
    started = time.perf_counter()
    send()
    return (time.perf_counter() - started) * 1000


def throughput(send: Callable[[httpx.Client], None], *, clients: int, seconds: float) -> float:
    """Requests per second `clients` threads complete in `seconds` (each thread its own connection)."""
    done = [0] * clients
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        with httpx.Client(timeout=60.0) as http:
            while time.monotonic() < stop:
                send(http)
                done[index] += 1

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)


def sql_per_request(path: str, method: str, api_key: str, body: dict[str, Any] | None = None) -> int:
    """Statements one request runs, through Django's handler in this process (same settings and database)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    # Steady state: the key authenticated before, as every gunicorn worker's key cache holds it after its first
    # request with it (tenants.services.api_key_authenticate).
    assert client.get("/api/v1/workspace").status_code == 200
    with CaptureQueriesContext(connection) as captured:
        if method == "POST":
            response = client.post(
                path, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
            )
        else:
            response = client.get(path)
    assert response.status_code in (200, 201), response.content
    return len(captured.captured_queries)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from cryptography.fernet import Fernet

    work = Path(tempfile.mkdtemp(prefix="ledgerbridge-overhead-"))
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
                name="Overhead",
                division=DIVISION,
            )
            # Enough open invoices (3 lines each) that a 60-record page is full.
            control.seed(DIVISION, invoices=150, lines_per_invoice=3, seed=1)
            # gunicorn with deploy/gunicorn.conf.py, as the chaos run starts it; no Celery: nothing here is queued.
            stack = Stack(env=env, log_dir=work / "logs", web_workers=args.workers, celery=False)
            with running(stack):
                assert stack.web is not None
                bench = Bench(
                    gateway_url=stack.url,
                    sandbox_url=sandbox_url,
                    control=control,
                    api_key=world["api_key"],
                    connection=world["connection"],
                )
                return measure(args, bench, world, stack.web.pid, redis_url)


def measure(
    args: argparse.Namespace, bench: Bench, world: dict[str, Any], web_pid: int, redis_url: str
) -> dict[str, Any]:
    contact_id = world["contact_id"]
    run_id = uuid.uuid4().hex[:6]
    report: dict[str, Any] = {"workers": args.workers}
    put = bench.http.put(f"{bench.base}/mapping", json=MAPPING, headers=bench.headers)
    assert put.status_code == 200, put.text

    parts = args.parts
    # 1. Vendor calls per unified operation ------------------------------------------------------------------
    calls: dict[str, Any] = {}
    lines_query: dict[str, Any] = {}
    if "calls" in parts:
        lines_query = vendor_calls_per_operation(bench, calls, contact_id, run_id, redis_url)
    # The reads the later sections send again (their vendor calls, as the sandbox logged them, are replayed).
    invoice_id = bench.get("invoices", page_size=1).json()["results"][0]["id"]
    _, calls["invoice retrieve"], retrieve_logged = bench.counted(lambda: bench.get(f"invoices/{invoice_id}"))
    page, calls[f"invoice list, page of {PAGE_SIZE}"], list_logged = bench.counted(
        lambda: bench.get("invoices", page_size=PAGE_SIZE)
    )
    assert len(page.json()["results"]) == PAGE_SIZE
    if "calls" in parts:
        report["vendor_calls_per_operation"] = calls

    # 2. SQL statements per request ---------------------------------------------------------------------------
    if "sql" in parts:
        report["sql_statements_per_request"] = sql_statements(bench, world, contact_id, run_id, invoice_id)

    # 3. Latency: each gateway request next to the vendor calls it makes, interleaved -------------------------
    if "latency" in parts:
        report["latency"] = latency_rounds(
            args, bench, contact_id, run_id, invoice_id, lines_query, retrieve_logged, list_logged
        )

    # 4. Throughput with concurrent clients -------------------------------------------------------------------
    if "throughput" in parts:
        report["throughput"] = throughput_runs(args, bench, list_logged)

    # 5. Worker memory after 2,000 requests ------------------------------------------------------------------
    if "rss" in parts:
        report["worker_rss_mib"] = worker_rss(args, bench, web_pid, invoice_id)
    return report


def vendor_calls_per_operation(
    bench: Bench, calls: dict[str, Any], contact_id: str, run_id: str, redis_url: str
) -> dict[str, Any]:
    """Vendor calls of each create into `calls`; the query of the lines read after an item line's POST."""
    import redis

    from connectors.base.cache import RedisReferenceCache

    created, calls["contact create"], _ = bench.counted(
        lambda: bench.http.post(
            f"{bench.base}/contacts",
            json={"name": f"Overhead {run_id}", "is_customer": True},
            headers={**bench.headers, "Idempotency-Key": f"contact-{run_id}"},
        )
    )
    assert created.status_code == 201, created.text
    per_invoice: list[int] = []
    for number in range(50):
        _, count, logged = bench.counted(lambda n=number: bench.create_invoice(contact_id, f"OH-{run_id}-{n}"))
        per_invoice.append(count)
    calls["invoice create, first after PUT /mapping"] = per_invoice[0]
    calls["invoice create, steady state (2nd to 50th)"] = round(statistics.mean(per_invoice[1:]), 2)
    calls["invoice create, average over 50"] = round(statistics.mean(per_invoice), 2)
    # An item line without a G/L account: Exact fills in the item's revenue account, so the lines are read.
    per_item_invoice: list[int] = []
    for number in range(10):
        _, count, logged = bench.counted(
            lambda n=number: bench.create_invoice(contact_id, f"OH-{run_id}-item-{n}", item_line=True)
        )
        per_item_invoice.append(count)
    lines_query = next(entry["query"] for entry in logged if entry["path"].endswith("/SalesInvoiceLines"))
    calls["invoice create with an item line, first"] = per_item_invoice[0]
    calls["invoice create with an item line, steady state (2nd to 10th)"] = round(
        statistics.mean(per_item_invoice[1:]), 2
    )
    # A cold cache: every reference entry dropped (as after EXACT_REFERENCE_CACHE_SECONDS).
    store = redis.Redis.from_url(redis_url)
    for key in store.scan_iter(f"{RedisReferenceCache.prefix}*"):
        store.delete(key)
    _, calls["invoice create, first with a cold reference cache"], _ = bench.counted(
        lambda: bench.create_invoice(contact_id, f"OH-{run_id}-cold")
    )
    return dict(lines_query)


def sql_statements(
    bench: Bench, world: dict[str, Any], contact_id: str, run_id: str, invoice_id: str
) -> dict[str, int]:
    # Steady state: the cold-cache create above primed only the GUIDs it needed, not the handbook item's.
    bench.create_invoice(contact_id, f"OH-{run_id}-sql-warm", item_line=True)
    path = f"/api/v1/connections/{bench.connection.pk}"
    return {
        "invoice create (steady state)": sql_per_request(
            f"{path}/invoices", "POST", world["api_key"], invoice_body(contact_id, f"OH-{run_id}-sql")
        ),
        "invoice create with an item line (POST + read of lines)": sql_per_request(
            f"{path}/invoices",
            "POST",
            world["api_key"],
            invoice_body(contact_id, f"OH-{run_id}-sql-item", item_line=True),
        ),
        "invoice retrieve": sql_per_request(f"{path}/invoices/{invoice_id}", "GET", world["api_key"]),
        f"invoice list, page of {PAGE_SIZE}": sql_per_request(
            f"{path}/invoices?page_size={PAGE_SIZE}", "GET", world["api_key"]
        ),
        "GET /api/v1/workspace": sql_per_request("/api/v1/workspace", "GET", world["api_key"]),
    }


def latency_rounds(
    args: argparse.Namespace,
    bench: Bench,
    contact_id: str,
    run_id: str,
    invoice_id: str,
    lines_query: dict[str, Any],
    retrieve_logged: list[dict[str, Any]],
    list_logged: list[dict[str, Any]],
) -> dict[str, Any]:
    from connectors.exact import mappers
    from connectors.exact.values import exact_json_dumps

    dump = bench.control.dump(DIVISION)
    guids = {
        "items": {str(row["Code"]).strip(): row["ID"] for row in dump["Items"]},
        "gl_accounts": {str(row["Code"]).strip(): row["ID"] for row in dump["GLAccounts"]},
    }

    def direct_body(reference: str, *, item_line: bool) -> str:
        """The POST body the connector builds (its own mapper, the division's GUIDs), encoded as it encodes it."""
        prepared = exact_payload(contact_id, reference, item_line=item_line)
        resolve = mappers.StaticLookup(
            items={code: guids["items"][code] for code in prepared["wanted"].items},
            gl_accounts={code: guids["gl_accounts"][code] for code in prepared["wanted"].gl_accounts},
        )
        payload, _ = mappers.invoice_to_exact(prepared["invoice"], mapping=prepared["mapping"], resolve=resolve)
        return exact_json_dumps(payload)

    latency: dict[str, dict[str, float]] = {}
    samples: dict[str, tuple[list[float], list[float]]] = collections.defaultdict(lambda: ([], []))
    item_create = "invoice create with an item line (POST + read of lines)"
    for round_number in range(args.rounds):
        token = bench.token()  # outside the timings; the token manager refreshes it when due
        reference = f"OH-{run_id}-lat-{round_number}"
        samples["invoice create (POST alone)"][0].append(
            bench.timed_settled(lambda r=reference: bench.create_invoice(contact_id, r))
        )
        body = direct_body(f"{reference}-direct", item_line=False)  # outside the timing as well
        samples["invoice create (POST alone)"][1].append(timed(lambda b=body, t=token: bench.direct_create(b, None, t)))
        samples[item_create][0].append(
            bench.timed_settled(lambda r=reference: bench.create_invoice(contact_id, f"{r}-item", item_line=True))
        )
        body = direct_body(f"{reference}-item-direct", item_line=True)
        samples[item_create][1].append(timed(lambda b=body, t=token: bench.direct_create(b, lines_query, t)))
        samples["invoice retrieve"][0].append(bench.timed_settled(lambda: bench.get(f"invoices/{invoice_id}")))
        samples["invoice retrieve"][1].append(timed(lambda t=token: bench.replay(retrieve_logged, t)))
        samples[f"invoice list, page of {PAGE_SIZE}"][0].append(
            bench.timed_settled(lambda: bench.get("invoices", page_size=PAGE_SIZE))
        )
        samples[f"invoice list, page of {PAGE_SIZE}"][1].append(timed(lambda t=token: bench.replay(list_logged, t)))
    for name, (gateway, direct) in samples.items():
        latency[name] = {
            "gateway_p50_ms": round(percentile(gateway, 0.5), 1),
            "gateway_p95_ms": round(percentile(gateway, 0.95), 1),
            "direct_p50_ms": round(percentile(direct, 0.5), 1),
            "direct_p95_ms": round(percentile(direct, 0.95), 1),
            "overhead_p50_ms": round(percentile(gateway, 0.5) - percentile(direct, 0.5), 1),
        }
    return {"rounds": args.rounds, **latency}


def throughput_runs(args: argparse.Namespace, bench: Bench, list_logged: list[dict[str, Any]]) -> dict[str, Any]:
    token = bench.token()
    (list_call,) = list_logged
    sandbox_headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def gateway_page(http: httpx.Client) -> None:
        response = http.get(f"{bench.base}/invoices", params={"page_size": PAGE_SIZE}, headers=bench.headers)
        assert response.status_code == 200, response.text

    def sandbox_page(http: httpx.Client) -> None:
        response = http.get(
            f"{bench.sandbox_url}{list_call['path']}", params=list_call["query"], headers=sandbox_headers
        )
        assert response.status_code == 200, response.text

    def healthz(http: httpx.Client) -> None:
        assert http.get(f"{bench.gateway_url}/healthz").status_code == 200

    def workspace(http: httpx.Client) -> None:
        assert http.get(f"{bench.gateway_url}/api/v1/workspace", headers=bench.headers).status_code == 200

    rates = {
        f"gateway invoice page of {PAGE_SIZE}": throughput(gateway_page, clients=args.clients, seconds=args.seconds),
        "sandbox direct, the same page": throughput(sandbox_page, clients=args.clients, seconds=args.seconds),
        "gateway GET /healthz": throughput(healthz, clients=args.clients, seconds=args.seconds),
        "gateway GET /api/v1/workspace": throughput(workspace, clients=args.clients, seconds=args.seconds),
    }
    page_rate = rates[f"gateway invoice page of {PAGE_SIZE}"]
    return {
        "clients": args.clients,
        "seconds_each": args.seconds,
        "requests_per_second": {name: round(rate, 1) for name, rate in rates.items()},
        "gateway page / sandbox page": round(page_rate / rates["sandbox direct, the same page"], 2),
        "gateway page / GET /api/v1/workspace": round(page_rate / rates["gateway GET /api/v1/workspace"], 2),
    }


def worker_rss(args: argparse.Namespace, bench: Bench, web_pid: int, invoice_id: str) -> dict[str, Any]:
    workers = children_of(web_pid)
    before = {pid: rss_kib(pid) for pid in workers}
    remaining = collections.deque(range(args.rss_requests))
    lock = threading.Lock()

    def rss_client() -> None:
        with httpx.Client(timeout=60.0) as http:
            while True:
                with lock:
                    if not remaining:
                        return
                    number = remaining.popleft()
                if number % 2:
                    params: dict[str, Any] = {"page_size": PAGE_SIZE, "include": "remote_data"}
                    response = http.get(f"{bench.base}/invoices", params=params, headers=bench.headers)
                else:
                    response = http.get(f"{bench.base}/invoices/{invoice_id}", headers=bench.headers)
                assert response.status_code == 200, response.text

    rss_threads = [threading.Thread(target=rss_client) for _ in range(args.clients)]
    for thread in rss_threads:
        thread.start()
    for thread in rss_threads:
        thread.join()
    after = {pid: rss_kib(pid) for pid in children_of(web_pid)}
    return {
        "requests": args.rss_requests,
        "before": [round(value / 1024, 1) for value in before.values()],
        "after": [round(value / 1024, 1) for value in after.values()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("OVERHEAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/overhead"),
        help="a PostgreSQL database the run may drop and create",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--rounds", type=int, default=100, help="interleaved latency samples per operation")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients in the throughput runs")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each throughput run")
    parser.add_argument("--rss-requests", type=int, default=2000)
    parser.add_argument(
        "--only",
        default=",".join(PARTS),
        help=f"comma list of the parts to run, of {','.join(PARTS)} (latency needs calls: it is added)",
    )
    args = parser.parse_args()
    args.parts = set(args.only.split(","))
    if not args.parts <= set(PARTS):
        parser.error(f"--only takes parts of {','.join(PARTS)}")
    if "latency" in args.parts:
        args.parts.add("calls")  # the item-line create's read of lines is replayed from what section 1 logged
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
