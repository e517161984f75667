"""tenants/management/commands/rotate_credential_keys.py: reports how many records moved to the newest key; with
a key missing it writes nothing and says which setting to fix."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from tenants.credentials import crypto
from tenants.models import Credential
from tests.tenants.factories import CredentialFactory


@pytest.mark.django_db
def test_every_record_moves_to_the_newest_key(settings: Any) -> None:
    credential = CredentialFactory()
    newest = Fernet.generate_key().decode()
    settings.LEDGERBRIDGE_CREDENTIAL_KEYS = [newest, *settings.LEDGERBRIDGE_CREDENTIAL_KEYS]
    out = StringIO()
    call_command("rotate_credential_keys", stdout=out)
    assert out.getvalue().strip() == "Re-encrypted 1 stored credential record(s) under the newest key."
    settings.LEDGERBRIDGE_CREDENTIAL_KEYS = [newest]
    assert crypto.decrypt(Credential.objects.get(pk=credential.pk).access_token_encrypted) == "AAEAAfake-access-token"


@pytest.mark.django_db
def test_a_missing_key_writes_nothing_and_names_the_setting(settings: Any) -> None:
    readable = CredentialFactory()
    before = readable.access_token_encrypted
    settings.LEDGERBRIDGE_CREDENTIAL_KEYS = [Fernet.generate_key().decode()]  # the key the rows use is gone
    with pytest.raises(
        CommandError, match=re.escape("Nothing was re-encrypted. Add the missing key to LEDGERBRIDGE_CREDENTIAL")
    ):
        call_command("rotate_credential_keys", stdout=StringIO())
    assert Credential.objects.get(pk=readable.pk).access_token_encrypted == before
