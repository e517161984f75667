"""No secret in any log line of any process we configure, and no forged line: a real run (gunicorn with
deploy/gunicorn.conf.py, a Celery worker and beat) connects a tenant through the hosted flow and the sandbox's
OAuth, writes and reads, sends a path with a newline, and then every log is searched for each token it issued."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.conf import settings

from bench.chaos_writes import Stack, running
from tenants.credentials.store import credential_tokens
from tenants.models import Connection, Credential
from tests.fixtures.exact import subprocess_env
from tests.gateway.test_celery import database_url_for_subprocess
from tests.tenants.connect_helpers import csrf_token
from tests.tenants.factories import ApiKeyFactory, WorkspaceFactory

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_log_of_a_real_run_carries_a_token_or_a_forged_line(exact_world_factory, tmp_path: Path, log_format) -> None:  # type: ignore[no-untyped-def]
    stack_port_world = exact_world_factory  # the public URL must be the gunicorn's: build the world after the port
    stack = Stack(env={}, log_dir=tmp_path / "logs", web_workers=2)
    world = stack_port_world(public_url=stack.url)
    world.auto_consent([101])
    workspace = WorkspaceFactory(allowed_redirect_hosts=["app.example.com"])
    api_key = ApiKeyFactory(workspace=workspace)
    stack.env = subprocess_env(
        world,
        DJANGO_SETTINGS_MODULE="gateway.settings.test",
        DATABASE_URL=database_url_for_subprocess(),
        LEDGERBRIDGE_CREDENTIAL_KEYS=",".join(settings.LEDGERBRIDGE_CREDENTIAL_KEYS),
        LOG_LEVEL="DEBUG",
        LOG_FORMAT=log_format,
    )
    secrets: dict[str, str] = {"api key": api_key.secret, "client secret": world.client_secret}
    with running(stack):
        api = httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {api_key.secret}"}, timeout=30)
        tenant = api.post("/api/v1/tenants", json={"external_id": "logs-1", "name": "Logs"}).json()
        link = api.post(
            f"/api/v1/tenants/{tenant['id']}/connect-links",
            json={"connector": "exact", "region": "nl", "redirect_url": "https://app.example.com/done?ref=1"},
        ).json()
        secrets["connect link token"] = link["url"].rsplit("/", 1)[1]

        browser = httpx.Client(base_url=stack.url, timeout=30, follow_redirects=False)
        start = browser.get(urlsplit(link["url"]).path)
        assert start.status_code == 302, start.text[:300]
        continue_path = start.headers["location"]
        page = browser.get(continue_path)
        consent = browser.post(continue_path, data={"csrfmiddlewaretoken": csrf_token(page.text)})
        assert consent.status_code == 302, consent.text[:300]
        authorization_url = consent.headers["location"]
        secrets["oauth state"] = parse_qs(urlsplit(authorization_url).query)["state"][0]
        callback_url = httpx.get(authorization_url, follow_redirects=False).headers["location"]
        secrets["oauth code"] = parse_qs(urlsplit(callback_url).query)["code"][0]
        response = browser.get(urlsplit(callback_url).path + "?" + urlsplit(callback_url).query)
        while response.status_code == 302 and response.headers["location"].startswith("/"):
            picker_path = response.headers["location"]
            response = browser.get(picker_path)
        if response.status_code == 200:  # the administrations to connect
            response = browser.post(
                picker_path, data={"divisions": ["101"], "csrfmiddlewaretoken": csrf_token(response.text)}
            )
        while response.status_code == 302 and response.headers["location"].startswith("/"):
            response = browser.get(response.headers["location"])
        assert "status=success" in response.headers.get("location", response.text), response.text[:500]

        connection = Connection.objects.get(tenant_id=tenant["id"])
        tokens = credential_tokens(Credential.objects.get(pk=connection.credential_id))
        secrets["access token"], secrets["refresh token"] = tokens.access_token, tokens.refresh_token
        assert api.get(f"/api/v1/connections/{connection.pk}/contacts", params={"page_size": 2}).status_code == 200
        # Failures log the path: an unknown link, a bad key, a path that tries to start a new log line.
        assert browser.get(f"/connect/{secrets['connect link token'][::-1]}").status_code == 404
        # Django's CSRF refusal logs the path it refused (with the link's token in it).
        forged_post = httpx.post(f"{stack.url}{continue_path}", data={"x": "1"})
        assert forged_post.status_code == 403
        assert httpx.get(f"{stack.url}/api/v1/workspace", headers={"Authorization": "Bearer lb_abc.def"}).is_error
        assert api.get("/api/v1/tenants%0AFORGED-LINE%0D%0A").status_code == 404
        assert browser.get("/connect/callback", params={"code": "c0de-l00k", "state": "st4te-l00k"}).status_code
        secrets["unused code"], secrets["unused state"] = "c0de-l00k", "st4te-l00k"

    logs = stack.logs()
    assert {"gunicorn.log", "beat.log", "worker-1.log"} <= set(logs)
    joined = "\n".join(logs.values())
    assert "ledgerbridge.access" in joined and "/api/v1/tenants" in joined, "the access log was written"
    assert "/connect/<token>/continue" in joined and "Forbidden (CSRF" in joined
    leaks = [f"{name} in {log}" for name, secret in secrets.items() for log, text in logs.items() if secret in text]
    assert not leaks, leaks
    forged = [line for text in logs.values() for line in text.splitlines() if re.match(r"\s*FORGED-LINE", line)]
    # Escaped in the line; a JSON line escapes the backslashes once more.
    marker = "FORGED-LINE\\r\\n" if log_format == "text" else json.dumps("FORGED-LINE\\r\\n")[1:-1]
    assert not forged and marker in joined, forged
    if log_format == "json":
        _assert_json_lines(logs, workspace_id=str(workspace.pk), connection_id=str(connection.pk))


def _assert_json_lines(logs: dict[str, str], *, workspace_id: str, connection_id: str) -> None:
    """Every log line is one JSON object: all of gunicorn's; of Celery's, every line logging wrote (its start-up
    banner is printed, not logged, so it stays text), and no line in the plain format is left."""
    plain = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")
    records = []
    for name, text in logs.items():
        lines = [line for line in text.splitlines() if line.strip()]
        assert not [line for line in lines if plain.match(line)], f"{name}: a plain log line"
        if name != "gunicorn.log":  # celery worker / beat: the printed banner is not a log line
            lines = [line for line in lines if line.startswith("{")]
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                raise AssertionError(f"{name}: not a JSON line: {line[:200]}") from None
            assert {"time", "level", "logger", "message"} <= set(record), line
            records.append(record)
    access = [r for r in records if r["logger"] == "ledgerbridge.access"]
    assert access and all(r.get("request_id") for r in access)
    contacts = [r for r in access if f"/connections/{connection_id}/contacts" in r["message"]]
    assert contacts and contacts[0]["workspace_id"] == workspace_id and contacts[0]["connection_id"] == connection_id


def test_a_task_s_log_lines_carry_its_id_and_name_and_nothing_after_it() -> None:
    """Celery's task_prerun/postrun signals (gateway/celery.py) bind and end the task's log context."""
    from gateway.celery import app
    from gateway.logging import JsonLogFormatter, RequestIdFilter

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            RequestIdFilter().filter(record)
            records.append(record)

    logger = logging.getLogger("ledgerbridge.test.task")
    handler = Keep()
    logger.addHandler(handler)
    try:

        @app.task(name="tests.log_line")
        def log_line() -> None:
            logger.warning("inside the task")

        result = log_line.apply()
        logger.warning("after the task")
    finally:
        logger.removeHandler(handler)
    inside, after = (json.loads(JsonLogFormatter().format(record)) for record in records)
    assert (inside["task_id"], inside["task_name"]) == (result.id, "tests.log_line")
    assert "task_id" not in after and "task_name" not in after
