"""tenants/management/commands/revoke_api_key.py: revoke by prefix, an unknown prefix is an error, revoking twice
keeps the first moment."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tenants.models import ApiKey
from tests.tenants.factories import ApiKeyFactory


@pytest.mark.django_db
def test_a_key_is_revoked_by_its_prefix_once() -> None:
    key = ApiKeyFactory()
    out = StringIO()
    call_command("revoke_api_key", key.prefix, stdout=out)
    assert out.getvalue().strip() == f"Revoked {key.prefix}."
    first = ApiKey.objects.get(pk=key.pk).revoked_at
    assert first is not None
    call_command("revoke_api_key", key.prefix, stdout=StringIO())
    assert ApiKey.objects.get(pk=key.pk).revoked_at == first


@pytest.mark.django_db
def test_an_unknown_prefix_is_an_error_and_revokes_nothing() -> None:
    key = ApiKeyFactory()
    with pytest.raises(CommandError, match="No API key with prefix 'lb_nothinghere1'"):
        call_command("revoke_api_key", "lb_nothinghere1", stdout=StringIO())
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
