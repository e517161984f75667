"""A real Redis stopped for 20 s while invoices are written through gunicorn: no 500 at all, and every write settles
exactly once after Redis is back. The test starts its own redis-server on a free port (never the shared one)."""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from bench.chaos_writes import Stack, free_port, invoice_body, running, wait_for_port
from tests.fixtures.exact import subprocess_env
from tests.gateway.test_celery import database_url_for_subprocess
from tests.tenants.factories import ApiKeyFactory
from tests.unified_models.conftest import Connected
from unified_models.models import Mutation

pytestmark = [pytest.mark.celery_worker, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 20.0


class OwnRedis:
    """A redis-server of this test's own that can be stopped and started again on the same port."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed") if os.environ.get("CI") else pytest.skip("no redis-server")
    redis = OwnRedis(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


def test_a_redis_outage_answers_no_500_and_every_write_settles_after_it(
    mapped: Connected, first_customer_id: str, own_redis: OwnRedis, tmp_path: Path
) -> None:
    api_key = ApiKeyFactory(workspace=mapped.connection.workspace)
    env = subprocess_env(
        mapped.world,
        DJANGO_SETTINGS_MODULE="gateway.settings.test",
        DATABASE_URL=database_url_for_subprocess(),
        REDIS_URL=own_redis.url,
        LEDGERBRIDGE_CREDENTIAL_KEYS=",".join(settings.LEDGERBRIDGE_CREDENTIAL_KEYS),
        LEDGERBRIDGE_RECONCILE_INTERVAL="2",
        LOG_LEVEL="WARNING",
    )
    stack = Stack(env=env, log_dir=tmp_path / "logs", web_workers=2)
    url = f"/api/v1/connections/{mapped.connection.pk}/invoices"
    answers: collections.Counter[int] = collections.Counter()
    outage_answers: collections.Counter[int] = collections.Counter()
    settled: dict[str, str] = {}
    outage = threading.Event()
    stop = threading.Event()
    lock = threading.Lock()

    def writer(number: int) -> None:
        count = 0
        with httpx.Client(base_url=stack.url, timeout=30) as http:
            while not stop.is_set():
                reference = f"REDIS-{number}-{count}"
                key = f"redis-{number}-{count}"
                body = invoice_body(first_customer_id, reference)
                while True:
                    response = http.post(
                        url, json=body, headers={"Authorization": f"Bearer {api_key.secret}", "Idempotency-Key": key}
                    )
                    with lock:
                        answers[response.status_code] += 1
                        if outage.is_set():
                            outage_answers[response.status_code] += 1
                    if response.status_code == 201:
                        with lock:
                            settled[reference] = response.json()["id"]
                        break
                    assert response.status_code in (409, 429, 503), response.text
                    time.sleep(0.5)
                count += 1

    with running(stack):
        threads = [threading.Thread(target=writer, args=(number,), daemon=True) for number in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(3)
        own_redis.stop()
        outage.set()
        time.sleep(OUTAGE_SECONDS)
        own_redis.start()
        outage.clear()
        time.sleep(3)
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads), "a write never settled after Redis came back"

    print(f"answers {dict(answers)}; during the outage {dict(outage_answers)}; settled {len(settled)}")
    assert answers[500] == 0, answers
    assert sum(outage_answers.values()) >= 10 and set(outage_answers) <= {409, 429, 503, 201}, outage_answers
    assert outage_answers[503] > 0, "requests during the outage were answered while Redis was down"
    invoices = collections.Counter(
        row["YourRef"] for row in mapped.dump("SalesInvoices") if str(row.get("YourRef", "")).startswith("REDIS-")
    )
    assert set(invoices) == set(settled), "every write the client saw succeed is at the vendor, and only those"
    assert max(invoices.values()) == 1, "no write was sent twice"
    states = collections.Counter(Mutation.objects.filter(connection=mapped.connection).values_list("status", flat=True))
    assert set(states) <= {"succeeded", "failed"}, states
