"""tenants/management/commands/create_api_key.py: the key on stdout alone (scripts capture it), the note on
stderr, stored only as its hash."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tenants import keys
from tenants.models import ApiKey
from tests.tenants.factories import WorkspaceFactory


@pytest.mark.django_db
def test_the_key_is_printed_alone_on_stdout_and_stored_as_its_hash() -> None:
    workspace = WorkspaceFactory(slug="acme")
    out, err = StringIO(), StringIO()
    call_command("create_api_key", "--workspace", "acme", "--name", "billing backend", stdout=out, stderr=err)

    secret = out.getvalue().strip()
    stored = ApiKey.objects.get(workspace=workspace)
    assert keys.parse_key(secret) == stored.prefix and stored.key_hash == keys.hash_key(secret)
    assert stored.name == "billing backend"
    assert secret not in err.getvalue() and f"Created key {stored.prefix} for acme" in err.getvalue()


@pytest.mark.django_db
def test_both_options_are_required() -> None:
    WorkspaceFactory(slug="acme")
    with pytest.raises(CommandError, match="--name"):
        call_command("create_api_key", "--workspace", "acme", stdout=StringIO())
    assert not ApiKey.objects.exists()
