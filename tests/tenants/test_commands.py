"""Management commands for operators: create workspaces and keys, revoke keys."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tenants.models import ApiKey, Workspace

pytestmark = pytest.mark.django_db


def test_create_workspace_and_key_then_revoke() -> None:
    call_command("create_workspace", "--name", "Acme Webshop", stdout=StringIO())
    workspace = Workspace.objects.get(slug="acme-webshop")

    out = StringIO()
    call_command("create_api_key", "--workspace", "acme-webshop", "--name", "backend", stdout=out, stderr=StringIO())
    secret = out.getvalue().strip()
    client = APIClient()
    assert client.get("/api/v1/workspace", HTTP_AUTHORIZATION=f"Bearer {secret}").json()["id"] == str(workspace.id)

    prefix = ApiKey.objects.get(workspace=workspace).prefix
    call_command("revoke_api_key", prefix, stdout=StringIO())
    assert client.get("/api/v1/workspace", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_duplicate_slug_and_unknown_workspace_are_errors() -> None:
    call_command("create_workspace", "--name", "Acme", "--slug", "acme", stdout=StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_workspace", "--name", "Acme again", "--slug", "acme", stdout=StringIO())
    with pytest.raises(CommandError, match="No workspace"):
        call_command("create_api_key", "--workspace", "nope", "--name", "x", stdout=StringIO())


def test_create_workspace_takes_the_allowed_redirect_hosts() -> None:
    out = StringIO()
    call_command(
        "create_workspace",
        "--name",
        "Acme",
        "--allowed-redirect-host",
        "App.Acme.com",
        "--allowed-redirect-host",
        "localhost,staging.acme.com",
        stdout=out,
    )

    workspace = Workspace.objects.get(slug="acme")
    assert workspace.allowed_redirect_hosts == ["app.acme.com", "localhost", "staging.acme.com"]
    assert "app.acme.com" in out.getvalue()


def test_create_workspace_refuses_a_url_as_redirect_host_and_writes_nothing() -> None:
    with pytest.raises(CommandError, match=re.escape("--allowed-redirect-host: 'https://app.acme.com' is not a bare")):
        call_command(
            "create_workspace", "--name", "Acme", "--allowed-redirect-host", "https://app.acme.com", stdout=StringIO()
        )
    assert not Workspace.objects.exists()
