"""tenants/management/commands/create_workspace.py: slug from the name unless given, redirect hosts repeated or
comma-separated (spaces after commas allowed), nothing written when a host or the slug is refused."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tenants.models import Workspace


@pytest.mark.django_db
def test_comma_separated_hosts_may_have_spaces_after_the_commas() -> None:
    out = StringIO()
    call_command(
        "create_workspace",
        "--name",
        "Acme Webshop",
        "--allowed-redirect-host",
        "app.acme.com, staging.acme.com,",
        stdout=out,
    )
    workspace = Workspace.objects.get(slug="acme-webshop")
    assert workspace.allowed_redirect_hosts == ["app.acme.com", "staging.acme.com"]
    assert out.getvalue().strip() == (
        f"Created workspace acme-webshop ({workspace.pk}); redirect hosts: app.acme.com, staging.acme.com."
    )


@pytest.mark.django_db
def test_a_name_without_slug_characters_needs_a_slug() -> None:
    with pytest.raises(CommandError, match="empty slug; pass --slug"):
        call_command("create_workspace", "--name", "!!!", stdout=StringIO())
    call_command("create_workspace", "--name", "!!!", "--slug", "bang", stdout=StringIO())
    assert list(Workspace.objects.values_list("slug", flat=True)) == ["bang"]


@pytest.mark.django_db
def test_a_refused_host_leaves_no_workspace() -> None:
    with pytest.raises(
        CommandError, match=re.escape("--allowed-redirect-host: 'app.acme.com:8443' is not a bare host name")
    ):
        call_command(
            "create_workspace", "--name", "Acme", "--allowed-redirect-host", "app.acme.com:8443", stdout=StringIO()
        )
    assert not Workspace.objects.exists()
