"""gateway/demo/management/commands/demo.py with --no-serve (the data only; the full run with sandboxes, worker
and web server is test_commands.py): each run issues a fresh key and retires the previous one, the printed
admin login works, the workspace lets connect links return here, and the printed connect link opens."""

from __future__ import annotations

from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from tenants.models import ApiKey, Workspace


def _run() -> dict[str, str]:
    out = StringIO()
    call_command("demo", "--no-serve", stdout=out)
    return {
        name.strip(): value.strip()
        for name, _, value in (line.partition(":") for line in out.getvalue().splitlines())
        if value
    }


def _authenticates(secret: str) -> bool:
    return APIClient().get("/api/v1/workspace", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200


@pytest.mark.django_db
def test_each_run_issues_a_fresh_key_and_retires_the_previous_one() -> None:
    first = _run()["API key"]
    second = _run()["API key"]

    assert first != second and _authenticates(second) and not _authenticates(first)
    workspace = Workspace.objects.get(slug="demo")
    assert ApiKey.objects.filter(workspace=workspace, name="demo", revoked_at__isnull=True).count() == 1
    assert {"localhost", "127.0.0.1"} <= set(workspace.allowed_redirect_hosts)


@pytest.mark.django_db
def test_the_printed_admin_login_and_connect_link_work(client: Client) -> None:
    printed = _run()
    password = printed["admin"].split("(admin / ")[1].rstrip(")")

    assert client.login(username="admin", password=password)
    link = urlsplit(printed["connect"].split()[0])
    page = Client().get(link.path)
    assert page.status_code == 200, page.content[:300]
