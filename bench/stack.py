"""What every benchmark that runs the gateway as an operator does: free ports, its own redis-server, a PostgreSQL
database dropped and created, the Exact sandbox in a process of its own, gunicorn with `deploy/gunicorn.conf.py`
(optionally a Celery worker and beat: `Stack`), and a division connected through the real OAuth flow.

Used by bench/chaos_writes.py, bench/gateway_overhead.py and the tests that run the same stack.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def children_of(pid: int) -> list[int]:
    """Direct child processes of `pid` (from /proc, no psutil)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may contain spaces, so split after the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


# ---------------------------------------------------------------------------------------------- processes


@dataclass
class Stack:
    """The gateway's processes for one run: gunicorn, and (with `celery`) a Celery worker and beat. Logs go to
    `log_dir`."""

    env: dict[str, str]
    log_dir: Path
    web_workers: int = 3
    celery: bool = True
    port: int = field(default_factory=free_port)
    web: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    beat: subprocess.Popen[bytes] | None = None
    worker_starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (lives as long as the process)
        return subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start(self) -> Stack:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.web = self._spawn(
            "gunicorn",
            [
                sys.executable, "-m", "gunicorn", "gateway.wsgi:application",
                "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.web_workers),
            ],
        )  # fmt: skip
        if not self.celery:
            wait_for_port(self.port)
            return self
        self.start_worker()
        self.beat = self._spawn(
            "beat",
            [
                sys.executable, "-m", "celery", "-A", "gateway", "beat", "--loglevel", "INFO",
                "--schedule", str(self.log_dir / "celerybeat-schedule"),
            ],
        )  # fmt: skip
        wait_for_port(self.port)
        return self

    def start_worker(self) -> None:
        self.worker_starts += 1
        self.worker = self._spawn(
            f"worker-{self.worker_starts}",
            [
                sys.executable, "-m", "celery", "-A", "gateway", "worker", "--pool", "solo",
                "-Q", "default,vendor,maintenance", "-n", f"chaos{self.worker_starts}@%h",
                "--loglevel", "INFO", "--without-gossip", "--without-mingle",
            ],
        )  # fmt: skip

    def kill_web_worker(self, rng: random.Random) -> int | None:
        """SIGKILL one gunicorn worker (its master starts another)."""
        assert self.web is not None
        workers = children_of(self.web.pid)
        if not workers:
            return None
        victim = rng.choice(workers)
        os.kill(victim, signal.SIGKILL)
        return victim

    def kill_worker(self) -> None:
        """SIGKILL the Celery worker (and anything it started), then start a new one."""
        if self.worker is not None:
            os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait()
        self.start_worker()

    def stop(self) -> None:
        for process in (self.web, self.worker, self.beat):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in (self.web, self.worker, self.beat):
            if process is not None:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()

    def logs(self) -> dict[str, str]:
        return {path.name: path.read_text(errors="replace") for path in sorted(self.log_dir.glob("*.log"))}


@contextmanager
def running(stack: Stack) -> Iterator[Stack]:
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@contextmanager
def own_redis(directory: Path) -> Iterator[str]:
    """A redis-server of this run's own on a free port (never the machine's shared one)."""
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def recreate_database(url: str) -> None:
    """Drop and create the database of `url` (a benchmark's own, never a shared one)."""
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


@contextmanager
def sandbox_process(*, env: dict[str, str], log: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """The Exact sandbox in a process of its own (`manage.py exact_sandbox`), so it shares no GIL with the client."""
    argv = [sys.executable, "manage.py", "exact_sandbox", "--port", str(port), "--webhook-validation-delay", "0"]
    with open(log, "ab") as output:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def production_env(
    *, name: str, client_id: str, database_url: str, redis_url: str, sandbox_url: str, public_url: str, keys: str
) -> dict[str, str]:
    """The environment of a benchmark's gateway processes: production settings pointed at its own services."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gateway.settings.production",
        "DJANGO_SECRET_KEY": f"{name}-benchmark-secret-key-" + uuid.uuid4().hex,
        "LEDGERBRIDGE_CREDENTIAL_KEYS": keys,
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "EXACT_SANDBOX_URL": sandbox_url,
        "EXACT_CLIENT_ID": client_id,
        "EXACT_CLIENT_SECRET": f"{name}-client-secret",
        "EXACT_WEBHOOK_SECRET": f"{name}-webhook-secret",
        "LEDGERBRIDGE_PUBLIC_URL": public_url,
        "LOG_LEVEL": "WARNING",
    }


def django_ready(env: dict[str, str], database_url: str) -> None:
    """A fresh database, this process configured like the gateway's (same settings and database), migrated."""
    recreate_database(database_url)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def connect_division(
    *, control: Any, root_url: str, env: dict[str, str], public_url: str, name: str, division: int
) -> dict[str, Any]:
    """App, user and division in the sandbox; workspace, API key and connection (real OAuth) in the gateway."""
    from types import SimpleNamespace

    from django.conf import settings

    from connectors.registry import reset_registry
    from tests.fixtures.exact import ExactWorld
    from tests.tenants.factories import ApiKeyFactory, WorkspaceFactory, connect_via_sandbox

    control.reset()
    world = ExactWorld(
        server=SimpleNamespace(root_url=root_url),
        control=control,
        public_url=public_url,
        client_id=env["EXACT_CLIENT_ID"],
        client_secret=env["EXACT_CLIENT_SECRET"],
        webhook_secret=env["EXACT_WEBHOOK_SECRET"],
    )
    control.register_app(
        client_id=world.client_id,
        client_secret=world.client_secret,
        webhook_secret=world.webhook_secret,
        redirect_uris=[world.redirect_uri],
        name=name,
    )
    user = control.register_user(username="jan@example.test", full_name="Jan", email="jan@example.test", region="nl")
    world.user_id = str(user["user_id"])
    control.register_division(code=division, name=f"{name} B.V.", region="nl", users=[world.user_id])
    control.set_current_division(world.user_id, division)
    control.set_limits(minutely_limit=10_000_000, daily_limit=100_000_000)
    settings.LEDGERBRIDGE_PUBLIC_URL = public_url
    reset_registry()
    workspace = WorkspaceFactory()
    api_key = ApiKeyFactory(workspace=workspace)
    _, (connection,) = connect_via_sandbox(world, workspace=workspace, divisions=[division], connect=(division,))
    contact_id = next(str(row["ID"]) for row in control.dump(division)["Accounts"] if row.get("Status") == "C")
    return {"api_key": api_key.secret, "connection": connection, "contact_id": contact_id, "public_url": public_url}
