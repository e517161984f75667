"""Profile one unified read in-process: where a one-record GET spends its wall time, and its round trips.

Starts what `gateway_overhead.py` starts (its own redis-server, a PostgreSQL database it drops and creates, the
Exact sandbox in a process of its own, a division connected through the real OAuth flow), then sends
`GET /api/v1/connections/<id>/invoices/<id>` through Django's handler in this process (production settings, the
same database and Redis) and prints:

- the round trips of one request, counted where they leave the process: SQL statements, Redis commands sent
  (a pipeline or a script is one), vendor HTTP requests and TCP connections opened;
- wall time per request (p50 over `--requests`, no profiler attached);
- cProfile's top functions by cumulative and by own time over the same number of requests.

    .venv/bin/python bench/profile_request.py --database-url postgres://postgres@127.0.0.1:5432/profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import pstats
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gateway_overhead import DIVISION, MAPPING, PAGE_SIZE, gateway_env, invoice_body  # noqa: E402
from bench.stack import connect_division, django_ready, free_port, own_redis, sandbox_process  # noqa: E402


@contextmanager
def round_trips() -> Iterator[Counter[str]]:
    """Counts what leaves the process meanwhile: Redis sends, SQL statements, HTTP requests, TCP connects."""
    import httpx
    from django.db import connection
    from redis.connection import Connection

    counts: Counter[str] = Counter()
    original_send = Connection.send_packed_command
    original_request = httpx.Client.send
    original_connect = socket.create_connection

    def send_packed_command(self: Connection, command: Any, check_health: bool = True) -> None:
        counts["redis"] += 1
        original_send(self, command, check_health)

    def request(self: httpx.Client, *args: Any, **kwargs: Any) -> httpx.Response:
        counts["http"] += 1
        return original_request(self, *args, **kwargs)

    def create_connection(*args: Any, **kwargs: Any) -> socket.socket:
        counts["tcp connects"] += 1
        return original_connect(*args, **kwargs)

    def execute(run: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        counts["sql"] += 1
        return run(sql, params, many, context)

    Connection.send_packed_command = send_packed_command  # type: ignore[method-assign]
    httpx.Client.send = request  # type: ignore[method-assign]
    socket.create_connection = create_connection
    try:
        with connection.execute_wrapper(execute):
            yield counts
    finally:
        Connection.send_packed_command = original_send  # type: ignore[method-assign]
        httpx.Client.send = original_request  # type: ignore[method-assign]
        socket.create_connection = original_connect


def profile(args: argparse.Namespace) -> None:
    from cryptography.fernet import Fernet

    work = Path(tempfile.mkdtemp(prefix="ledgerbridge-profile-"))
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
            from django.test import Client

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
            # A list reads a full page of 60, as gateway_overhead.py's page.
            control.seed(DIVISION, invoices=150 if args.operation == "list" else 5, lines_per_invoice=3, seed=1)
            client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {world['api_key']}")
            base = f"/api/v1/connections/{world['connection'].pk}"
            assert client.put(f"{base}/mapping", data=MAPPING, content_type="application/json").status_code == 200
            invoice_id = client.get(f"{base}/invoices", {"page_size": 1}).json()["results"][0]["id"]
            path = f"{base}/invoices/{invoice_id}"
            sent = itertools.count()
            run_id = uuid.uuid4().hex[:6]

            def get() -> None:
                if args.operation == "create":
                    response = client.post(
                        f"{base}/invoices",
                        data=invoice_body(world["contact_id"], f"PR-{run_id}-{next(sent)}"),
                        content_type="application/json",
                        headers={"Idempotency-Key": uuid.uuid4().hex},
                    )
                    assert response.status_code == 201, response.content
                    return
                response = (
                    client.get(path)
                    if args.operation == "retrieve"
                    else client.get(f"{base}/invoices", {"page_size": PAGE_SIZE})
                )
                assert response.status_code == 200, response.content

            for _ in range(args.warmup):
                get()
            with round_trips() as counts:
                get()
            samples = []
            for _ in range(args.requests):
                started = time.perf_counter()
                get()
                samples.append((time.perf_counter() - started) * 1000)
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.requests):
                get()
            profiler.disable()

    if args.dump:
        profiler.dump_stats(args.dump)
    print(f"round trips of one {args.operation}: {dict(counts)}")
    print(f"wall per {args.operation}, p50 over {args.requests}: {statistics.median(samples):.2f} ms")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/profile")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument(
        "--operation",
        choices=("retrieve", "create", "list"),
        default="retrieve",
        help="what to send: one invoice's GET, an invoice create (POST alone), or the first page of 60 invoices",
    )
    parser.add_argument("--dump", help="also write the profile here (pstats format), for print_callees and the like")
    profile(parser.parse_args())


if __name__ == "__main__":
    main()
