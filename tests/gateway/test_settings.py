"""Settings: no configuration runs on SQLite and the filesystem broker; production refuses to start without secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.settings_variables import READ_OUTSIDE_SETTINGS, variables_in_env_example, variables_read_by_settings

ROOT = Path(__file__).resolve().parents[2]
_PRINT = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)"
)


def _run(
    settings_module: str, extra_env: dict[str, str | None], tmp_path: Path, code: str = _PRINT
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh process with only our variables from `extra_env` (None: leave that one unset)."""
    ours = ("DJANGO", "DATABASE", "REDIS", "CELERY", "LEDGERBRIDGE", "EXACT")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env = {
        **clean,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "LEDGERBRIDGE_VAR_DIR": str(tmp_path),
        # A developer's own .env must not leak into these runs.
        "LEDGERBRIDGE_ENV_FILE": str(tmp_path / "no.env"),
        **extra_env,
    }
    env = {key: value for key, value in env.items() if value is not None}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def _print_setting(*names: str) -> str:
    """Code for `_run` that prints each setting as one JSON document."""
    values = ", ".join(f"'{name}': getattr(s, '{name}')" for name in names)
    setup = "import json, django; django.setup(); from django.conf import settings as s"
    return f"{setup}; print(json.dumps({{{values}}}))"


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


# ---------------------------------------------------------------------------------------------- what a deployer sets

PRODUCTION_SECRETS = {"DJANGO_SECRET_KEY": "s" * 50, "LEDGERBRIDGE_CREDENTIAL_KEYS": "x"}


def test_var_dir_set_in_the_env_file_takes_effect(tmp_path: Path) -> None:
    var_dir = tmp_path / "var-from-env-file"
    env_file = tmp_path / "gateway.env"
    env_file.write_text(f"LEDGERBRIDGE_VAR_DIR={var_dir}\nLEDGERBRIDGE_PUBLIC_URL=https://gw.example.com\n")

    result = _run(
        "gateway.settings.local",
        {"LEDGERBRIDGE_ENV_FILE": str(env_file), "LEDGERBRIDGE_VAR_DIR": None},
        tmp_path,
        _print_setting("LEDGERBRIDGE_PUBLIC_URL", "DATABASES", "CELERY_BROKER_TRANSPORT_OPTIONS"),
    )

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["LEDGERBRIDGE_PUBLIC_URL"] == "https://gw.example.com"
    assert values["DATABASES"]["default"]["NAME"] == str(var_dir / "ledgerbridge.sqlite3")
    assert values["CELERY_BROKER_TRANSPORT_OPTIONS"]["data_folder_in"].startswith(str(var_dir))
    assert (var_dir / "local-secrets.json").exists()  # the generated secrets went there too


def test_the_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "gateway.env"
    env_file.write_text("LEDGERBRIDGE_PUBLIC_URL=https://from-file.example.com\n")

    result = _run(
        "gateway.settings.local",
        {"LEDGERBRIDGE_ENV_FILE": str(env_file), "LEDGERBRIDGE_PUBLIC_URL": "https://from-env.example.com"},
        tmp_path,
        _print_setting("LEDGERBRIDGE_PUBLIC_URL"),
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["LEDGERBRIDGE_PUBLIC_URL"] == "https://from-env.example.com"


@pytest.mark.parametrize(
    "value",
    [
        '{"nl": "https://proxy.example.com/exact?route=nl,eu&sig=a=b", "be": "https://be.example.com/"}',
        "nl=https://proxy.example.com/exact?route=nl,eu&sig=a=b,be=https://be.example.com/",
    ],
    ids=["json", "pairs"],
)
def test_region_base_urls_may_contain_commas_and_equals_signs(tmp_path: Path, value: str) -> None:
    code = (
        "import json, django; django.setup(); from connectors.registry import get_connector; "
        "regions = get_connector('exact').regions(); "
        "print(json.dumps({code: regions[code].base_url for code in ('nl', 'be', 'de')}))"
    )

    result = _run("gateway.settings.local", {"EXACT_BASE_URLS": value}, tmp_path, code)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "nl": "https://proxy.example.com/exact?route=nl,eu&sig=a=b",
        "be": "https://be.example.com",
        "de": "https://start.exactonline.de",
    }


@pytest.mark.parametrize("value", ['{"nl": ', '{"nl": 7}', "https://no-region.example.com"])
def test_a_malformed_region_base_url_setting_refuses_to_start(tmp_path: Path, value: str) -> None:
    result = _run("gateway.settings.local", {"EXACT_BASE_URLS": value}, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "EXACT_BASE_URLS" in result.stderr


def test_the_oauth_redirect_uri_can_be_set_on_its_own(tmp_path: Path) -> None:
    code = (
        "import django; django.setup(); from tenants.connect.services import callback_url; "
        "from django.conf import settings; print(settings.LEDGERBRIDGE_PUBLIC_URL, callback_url())"
    )
    derived = _run("gateway.settings.local", {"LEDGERBRIDGE_PUBLIC_URL": "https://gw.example.com/"}, tmp_path, code)
    own = _run(
        "gateway.settings.local",
        {
            "LEDGERBRIDGE_PUBLIC_URL": "https://gw.example.com",
            "LEDGERBRIDGE_OAUTH_REDIRECT_URI": "https://auth.example.com/ledgerbridge/connect/callback",
        },
        tmp_path,
        code,
    )

    assert derived.returncode == 0 and own.returncode == 0, derived.stderr + own.stderr
    assert derived.stdout.split() == ["https://gw.example.com", "https://gw.example.com/connect/callback"]
    assert own.stdout.split() == ["https://gw.example.com", "https://auth.example.com/ledgerbridge/connect/callback"]


@pytest.mark.parametrize(("value", "secure"), [(None, True), ("false", False), ("true", True)])
def test_secure_cookies_can_be_turned_off_for_plain_http_runs(tmp_path: Path, value: str | None, secure: bool) -> None:
    environment = {**PRODUCTION_SECRETS, **({"DJANGO_SECURE_COOKIES": value} if value is not None else {})}

    result = _run(
        "gateway.settings.production",
        environment,
        tmp_path,
        _print_setting("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"),
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"SESSION_COOKIE_SECURE": secure, "CSRF_COOKIE_SECURE": secure}


# ---------------------------------------------------------------------------------------------- .env.example


def test_env_example_lists_every_variable_the_settings_read() -> None:
    read = variables_read_by_settings()
    documented = variables_in_env_example()

    assert "EXACT_BASE_URLS" in read and "LEDGERBRIDGE_VAR_DIR" in read  # the scan sees helpers and env.py
    missing = {name: where for name, where in read.items() if name not in documented}
    assert missing == {}, f"add these to .env.example with a comment: {missing}"
    stale = documented - set(read) - READ_OUTSIDE_SETTINGS
    assert stale == set(), f".env.example lists variables no setting reads: {sorted(stale)}"
