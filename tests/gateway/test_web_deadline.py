"""gateway/web_deadline.py with deploy/gunicorn.conf.py: a request past LEDGERBRIDGE_WEB_TIMEOUT ends its gthread
worker (as gunicorn ends a sync worker), requests within it are served, and a worker serves several at once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from bench.stack import free_port, wait_for_port
from gateway.web_deadline import RequestDeadline

ROOT = Path(__file__).resolve().parents[2]


def test_a_request_past_the_deadline_ends_the_process() -> None:
    ended = threading.Event()
    deadline = RequestDeadline(0.3, on_overdue=ended.set)

    def slow_request() -> None:
        deadline.request_started()
        time.sleep(2)
        deadline.request_finished()

    threading.Thread(target=slow_request, daemon=True).start()
    started = time.monotonic()
    deadline.watch(interval=0.05)
    assert ended.wait(5)
    assert 0.25 <= time.monotonic() - started < 1.5


def test_requests_within_the_deadline_leave_the_process_alone() -> None:
    ended = threading.Event()
    deadline = RequestDeadline(0.3, on_overdue=ended.set)
    for _ in range(5):
        deadline.request_started()
        time.sleep(0.1)
        deadline.request_finished()
        assert not deadline.check()
    deadline.request_started()
    assert deadline.overdue_for(time.monotonic() + 0.2) is None
    assert deadline.overdue_for(time.monotonic() + 1.0) == pytest.approx(0.7, abs=0.05)
    assert not ended.is_set()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "LEDGERBRIDGE_WEB_TIMEOUT": "2",
        "WEB_THREADS": "4",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "tests.gateway.slow_wsgi:app",
            "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}", "--workers", "1",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        print((tmp_path / "gunicorn.log").read_text())


def test_gunicorn_ends_a_worker_whose_request_outlives_the_timeout(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as http:
        first_worker = http.get("/pid").text
        started = time.monotonic()
        with pytest.raises(httpx.TransportError):  # the connection ends with the worker: no answer
            http.get("/sleep", params={"seconds": 20})
        assert 2 <= time.monotonic() - started < 6
    with httpx.Client(base_url=server, timeout=30) as http:
        for _ in range(50):  # the arbiter starts another worker
            try:
                second_worker = http.get("/pid").text
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert second_worker != first_worker
        assert http.get("/sleep", params={"seconds": 1}).text == second_worker  # within the timeout: answered


def test_one_worker_serves_requests_side_by_side(server: str) -> None:
    def sleep_one_second(_: int) -> str:
        with httpx.Client(base_url=server, timeout=30) as http:
            return http.get("/sleep", params={"seconds": 1}).text

    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        workers = set(pool.map(sleep_one_second, range(4)))
    assert len(workers) == 1  # one worker process, four threads
    assert time.monotonic() - started < 2.5  # four 1-second requests at once, not one after another
