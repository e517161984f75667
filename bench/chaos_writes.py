"""Chaos benchmark: invoice writes through the API while the Exact sandbox faults calls and processes are killed.

The gateway runs as an operator runs it: gunicorn (deploy/gunicorn.conf.py) with several workers, a Celery worker
and beat, PostgreSQL, Redis and the sandbox. Writer threads send N invoices with Idempotency-Keys; every answer
that is not final (5xx, 409, 429, a dropped connection) is retried with the same key until it settles. Meanwhile
the sandbox faults a share of all division calls (500, 503, drops before and after applying, latency past the
client timeout) and a killer SIGKILLs gunicorn workers and the Celery worker. At the end the sandbox's own store is
compared with what the client was told: duplicates (two invoices for one key), lost writes (told success, not
there), and every mutation's final state.

Full scale (the figures in bench/README.md):
    .venv/bin/python bench/chaos_writes.py --writes 2000
It needs PostgreSQL (`--database-url`, a database it may drop and create) and starts its own redis-server.
`tests/unified_models/test_chaos.py` runs the same harness at small scale against the test database.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
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
    wait_for_port,
)

__all__ = ["Stack", "children_of", "free_port", "own_redis", "running", "wait_for_port"]  # the tests use them here

SALES_INVOICES_REF = "CHAOS"
# Division calls the faults apply to (after the region prefix); the token endpoint is left alone.
DIVISION_CALLS = "/api/v1/*"
FAULT_KINDS = ("500", "503", "drop_before_apply", "drop_after_apply", "latency")


# ---------------------------------------------------------------------------------------------- the client


@dataclass
class ChaosConfig:
    writes: int = 2000
    fault_share: float = 0.20
    concurrency: int = 8
    web_kills: int = 10
    worker_kills: int = 5
    seed: int = 1
    latency_ms: int = 3000  # past the client timeout (EXACT_HTTP_TIMEOUT) the run sets
    deadline_seconds: float = 3600.0
    settle_timeout_seconds: float = 300.0
    # The client honours Retry-After up to this many seconds (the gateway's 30 s hint for an outage is generous).
    max_retry_wait: float = 5.0


@dataclass
class WriteLog:
    key: str
    reference: str
    answers: list[int] = field(default_factory=list)  # HTTP statuses, 0 for no answer
    outcome: str = "unsettled"  # succeeded, refused, unsettled
    invoice_id: str = ""


@dataclass
class Report:
    writes: int
    fault_share: float
    faults_fired: dict[str, int]
    vendor_calls: int
    web_kills: int
    worker_kills: int
    answers: dict[str, int]
    client_succeeded: int
    client_refused: int
    client_unsettled: int
    invoices_at_vendor: int
    duplicates: int
    lost: int
    final_states: dict[str, int]
    elapsed_seconds: float
    reconcile_seconds: float

    def ok(self) -> bool:
        settled = set(self.final_states) <= {"succeeded", "failed"}
        return self.duplicates == 0 and self.lost == 0 and self.client_unsettled == 0 and settled


def invoice_body(contact_id: str, reference: str) -> dict[str, Any]:
    return {
        "contact_id": contact_id,
        "reference": reference,
        "description": "Chaos run",
        "lines": [
            {"description": "Consultancy", "quantity": "2", "unit_price": "100.00", "tax_rate": "21"},
            {"description": "Handbook", "quantity": "1", "unit_price": "39.95", "tax_rate": "9",
             "item_code": "handbook"},
        ],
    }  # fmt: skip


def _send_until_settled(
    http: httpx.Client,
    url: str,
    api_key: str,
    body: dict[str, Any],
    write: WriteLog,
    deadline: float,
    max_wait: float,
) -> None:
    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": write.key}
    backoff = 0.2
    while time.monotonic() < deadline:
        try:
            response = http.post(url, json=body, headers=headers)
        except httpx.TransportError:
            write.answers.append(0)  # a killed web worker: no answer at all
            time.sleep(backoff)
            backoff = min(backoff * 2, max_wait)
            continue
        write.answers.append(response.status_code)
        if response.status_code in (200, 201):
            write.outcome, write.invoice_id = "succeeded", response.json()["id"]
            return
        if response.status_code in (400, 404, 422):
            write.outcome = "refused"
            return
        wait = response.headers.get("Retry-After")
        time.sleep(min(float(wait), max_wait) if wait and wait.isdigit() else backoff)
        backoff = min(backoff * 2, max_wait)


def run_writes(
    *,
    config: ChaosConfig,
    stack: Stack,
    control: Any,
    api_key: str,
    connection_id: str,
    contact_id: str,
    division: int,
    run_id: str,
    mutation_states: Any,
) -> Report:
    """The chaos run itself; `mutation_states()` returns {status: count} of this run's mutations (from the DB)."""
    rng = random.Random(config.seed)
    per_kind = 1 - (1 - config.fault_share) ** (1 / len(FAULT_KINDS))
    control.reset_counters()
    for index, kind in enumerate(FAULT_KINDS):
        control.add_fault(
            kind=kind,
            pattern=DIVISION_CALLS,
            probability=per_kind,
            seed=config.seed * 100 + index,
            latency_ms=config.latency_ms if kind == "latency" else 0,
        )
    writes = [
        WriteLog(key=f"chaos-{run_id}-{number}", reference=f"{SALES_INVOICES_REF}-{run_id}-{number}")
        for number in range(config.writes)
    ]
    queue: collections.deque[WriteLog] = collections.deque(writes)
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + config.deadline_seconds
    url = f"{stack.url}/api/v1/connections/{connection_id}/invoices"

    def writer() -> None:
        with httpx.Client(timeout=httpx.Timeout(120.0, connect=5.0)) as http:
            while True:
                with lock:
                    if not queue:
                        return
                    write = queue.popleft()
                body = invoice_body(contact_id, write.reference)
                _send_until_settled(http, url, api_key, body, write, deadline, config.max_retry_wait)

    threads = [threading.Thread(target=writer, daemon=True) for _ in range(config.concurrency)]
    for thread in threads:
        thread.start()

    kills = {"web": 0, "worker": 0}
    # Spread the kills over the first 80 % of the writes, in a seeded order.
    schedule = ["web"] * config.web_kills + ["worker"] * config.worker_kills
    rng.shuffle(schedule)
    marks = sorted(rng.sample(range(1, max(2, int(config.writes * 0.8))), k=min(len(schedule), config.writes // 2)))
    for mark, target in zip(marks, schedule, strict=False):
        while len(queue) > config.writes - mark and any(thread.is_alive() for thread in threads):
            time.sleep(0.05)
        if not any(thread.is_alive() for thread in threads):
            break
        if target == "web":
            if stack.kill_web_worker(rng) is not None:
                kills["web"] += 1
        else:
            stack.kill_worker()
            kills["worker"] += 1
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + 5)
    elapsed = time.monotonic() - started

    counters = control.counters()
    faults_fired = {kind: int(counters["faults"].get(kind, 0)) for kind in FAULT_KINDS}
    vendor_calls = sum(
        sum(by_status.values())
        for endpoint, by_status in counters["calls"].items()
        if not endpoint.startswith("oauth2")
    )
    control.clear_faults()

    # Whatever a dead sender left behind is reconciled by beat (or was by the client's retries).
    reconcile_started = time.monotonic()
    states = mutation_states()
    settle_by = reconcile_started + config.settle_timeout_seconds
    while set(states) - {"succeeded", "failed"} and time.monotonic() < settle_by:
        time.sleep(1.0)
        states = mutation_states()
    reconcile_seconds = time.monotonic() - reconcile_started

    references = collections.Counter(
        row.get("YourRef") for row in control.dump(division).get("SalesInvoices", [])
        if str(row.get("YourRef") or "").startswith(f"{SALES_INVOICES_REF}-{run_id}-")
    )  # fmt: skip
    answers = collections.Counter(str(status) for write in writes for status in write.answers)
    succeeded = [write for write in writes if write.outcome == "succeeded"]
    return Report(
        writes=config.writes,
        fault_share=config.fault_share,
        faults_fired=faults_fired,
        vendor_calls=vendor_calls,
        web_kills=kills["web"],
        worker_kills=kills["worker"],
        answers=dict(sorted(answers.items())),
        client_succeeded=len(succeeded),
        client_refused=sum(1 for write in writes if write.outcome == "refused"),
        client_unsettled=sum(1 for write in writes if write.outcome == "unsettled"),
        invoices_at_vendor=sum(references.values()),
        duplicates=sum(count - 1 for count in references.values() if count > 1),
        lost=sum(1 for write in succeeded if references[write.reference] == 0),
        final_states=dict(states),
        elapsed_seconds=round(elapsed, 1),
        reconcile_seconds=round(reconcile_seconds, 1),
    )


# ---------------------------------------------------------------------------------------------- standalone


def gateway_env(*, database_url: str, redis_url: str, sandbox_url: str, public_url: str, keys: str) -> dict[str, str]:
    """The environment of every gateway process in the full-scale run (production settings)."""
    return {
        **production_env(
            name="chaos",
            client_id="3f1c2a4e-0000-4000-8000-0000000000c4",
            database_url=database_url,
            redis_url=redis_url,
            sandbox_url=sandbox_url,
            public_url=public_url,
            keys=keys,
        ),
        # Short deadlines so killed senders come back within the run (and the checks still pass).
        "EXACT_HTTP_TIMEOUT": "2",
        "EXACT_TOKEN_TIMEOUT": "10",
        "LEDGERBRIDGE_WEB_TIMEOUT": "20",
        "LEDGERBRIDGE_MUTATION_SETTLE_SECONDS": "4",
        "LEDGERBRIDGE_RECONCILE_INTERVAL": "5",
        "CELERY_TASK_SOFT_TIME_LIMIT": "15",
        "CELERY_TASK_TIME_LIMIT": "20",
        "CELERY_VISIBILITY_TIMEOUT": "30",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--fault-share", type=float, default=0.20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--web-kills", type=int, default=10)
    parser.add_argument("--worker-kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-retry-wait", type=float, default=2.0, help="cap on the client's Retry-After waits")
    parser.add_argument(
        "--database-url", default=os.environ.get("CHAOS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chaos")
    )
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()

    from cryptography.fernet import Fernet

    from connectors.exact.sandbox.server import SandboxServer

    work = Path(tempfile.mkdtemp(prefix="ledgerbridge-chaos-"))
    sandbox = SandboxServer(port=0, webhook_validation_delay=0).start()
    try:
        with own_redis(work) as redis_url:
            env = gateway_env(
                database_url=args.database_url,
                redis_url=redis_url,
                sandbox_url=sandbox.root_url,
                public_url="http://127.0.0.1:0",
                keys=Fernet.generate_key().decode(),
            )
            django_ready(env, args.database_url)
            setup = _setup_world(sandbox, env)
            stack = Stack(env={**env, "LEDGERBRIDGE_PUBLIC_URL": setup["public_url"]}, log_dir=work / "logs",
                          web_workers=args.web_workers)  # fmt: skip
            config = ChaosConfig(
                writes=args.writes,
                fault_share=args.fault_share,
                concurrency=args.concurrency,
                web_kills=args.web_kills,
                worker_kills=args.worker_kills,
                seed=args.seed,
                max_retry_wait=args.max_retry_wait,
            )
            with running(stack):
                report = run_writes(
                    config=config,
                    stack=stack,
                    control=sandbox.control,
                    api_key=setup["api_key"],
                    connection_id=setup["connection_id"],
                    contact_id=setup["contact_id"],
                    division=101,
                    run_id=setup["run_id"],
                    mutation_states=lambda: mutation_states(setup["connection_id"]),
                )
            print(json.dumps(asdict(report), indent=2))
            if not args.keep_logs:
                shutil.rmtree(work, ignore_errors=True)
            else:
                print(f"logs in {work / 'logs'}")
            sys.exit(0 if report.ok() else 1)
    finally:
        sandbox.stop()


def mutation_states(connection_id: str) -> dict[str, int]:
    from django.db.models import Count

    from unified_models.models import Mutation

    rows = Mutation.objects.filter(connection_id=connection_id).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def _setup_world(sandbox: Any, env: dict[str, str]) -> dict[str, str]:
    """App, user and division in the sandbox; workspace, key, connection (real OAuth) and mapping in the gateway."""
    from tests.unified_models.conftest import mapping_store

    world = connect_division(
        control=sandbox.control,
        root_url=sandbox.root_url,
        env=env,
        public_url=f"http://127.0.0.1:{free_port()}",
        name="Chaos",
        division=101,
    )
    mapping_store(world["connection"])
    return {
        "api_key": world["api_key"],
        "connection_id": str(world["connection"].pk),
        "contact_id": world["contact_id"],
        "public_url": world["public_url"],
        "run_id": uuid.uuid4().hex[:8],
    }


if __name__ == "__main__":
    main()
