"""Settings: no configuration runs on SQLite and the filesystem broker; production refuses to start without secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_PRINT = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)"
)


def _run(settings_module: str, extra_env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    ours = ("DJANGO", "DATABASE", "REDIS", "CELERY", "LEDGERBRIDGE")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env = {**clean, "DJANGO_SETTINGS_MODULE": settings_module, "LEDGERBRIDGE_VAR_DIR": str(tmp_path), **extra_env}
    return subprocess.run([sys.executable, "-c", _PRINT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_no_configuration_means_sqlite_and_filesystem_broker(tmp_path: Path) -> None:
    result = _run("gateway.settings.local", {}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://"]
    # Secrets were generated into var/, not taken from code.
    assert (tmp_path / "local-secrets.json").exists()


def test_urls_switch_to_postgres_and_redis(tmp_path: Path) -> None:
    result = _run(
        "gateway.settings.local",
        {"DATABASE_URL": "postgres://u@127.0.0.1:5432/db", "REDIS_URL": "redis://127.0.0.1:6379/0"},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "redis://127.0.0.1:6379/0"]


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"LEDGERBRIDGE_CREDENTIAL_KEYS": "x"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "s" * 50}, "LEDGERBRIDGE_CREDENTIAL_KEYS"),
    ],
)
def test_production_refuses_to_start_without_secrets(tmp_path: Path, env: dict[str, str], missing: str) -> None:
    result = _run("gateway.settings.production", env, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and missing in result.stderr
