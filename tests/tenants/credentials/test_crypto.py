"""Credentials at rest: MultiFernet keys from the environment, key rotation, a hard error on unreadable ciphertext."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from tenants.credentials import crypto
from tenants.credentials.crypto import CredentialDecryptionError
from tenants.credentials.store import credential_tokens, vendor_app_for, vendor_app_save
from tenants.models import Credential, VendorApp
from tests.gateway.test_celery import database_url_for_subprocess
from tests.tenants.factories import CredentialFactory, WorkspaceFactory

ROOT = Path(__file__).resolve().parents[3]
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
UNKNOWN_KEY = Fernet.generate_key().decode()
ACCESS = "AAEAAsecret-access-token-value"
REFRESH = "Gcp7!IAAAsecret-refresh-token-value"
CLIENT_SECRET = "the-workspace-client-secret"


def _stored_under(settings, keys: list[str]) -> Credential:  # type: ignore[no-untyped-def]
    settings.LEDGERBRIDGE_CREDENTIAL_KEYS = keys
    credential = CredentialFactory(
        access_token_encrypted=crypto.encrypt(ACCESS), refresh_token_encrypted=crypto.encrypt(REFRESH)
    )
    vendor_app_save(workspace=credential.workspace, connector_id="exact", client_id="own", client_secret=CLIENT_SECRET)
    return credential


@pytest.mark.django_db
def test_rotation_re_encrypts_under_the_newest_key_and_the_old_key_can_go(settings) -> None:  # type: ignore[no-untyped-def]
    credential = _stored_under(settings, [OLD_KEY])
    settings.LEDGERBRIDGE_CREDENTIAL_KEYS = [NEW_KEY, OLD_KEY]  # newest first, the old one still readable

    out = StringIO()
    call_command("rotate_credential_keys", stdout=out)

    assert "Re-encrypted 2 stored credential record(s)" in out.getvalue()  # one credential, one vendor app
    credential.refresh_from_db()
    app = VendorApp.objects.get(workspace=credential.workspace)
    new_only = Fernet(NEW_KEY.encode())
    assert new_only.decrypt(credential.access_token_encrypted.encode()).decode() == ACCESS
    assert new_only.decrypt(credential.refresh_token_encrypted.encode()).decode() == REFRESH
    assert new_only.decrypt(app.client_secret_encrypted.encode()).decode() == CLIENT_SECRET

    settings.LEDGERBRIDGE_CREDENTIAL_KEYS = [NEW_KEY]  # the old key is retired
    assert credential_tokens(credential).refresh_token == REFRESH
    assert vendor_app_for(workspace=credential.workspace, connector_id="exact").client_secret == CLIENT_SECRET


@pytest.mark.django_db
def test_keys_are_not_derived_from_secret_key(settings) -> None:  # type: ignore[no-untyped-def]
    credential = _stored_under(settings, [NEW_KEY])
    settings.SECRET_KEY = "a-completely-different-django-secret-key"
    assert credential_tokens(credential).access_token == ACCESS


@pytest.mark.django_db
def test_ciphertext_under_an_unknown_key_is_a_hard_error_without_secrets_in_the_message(settings) -> None:  # type: ignore[no-untyped-def]
    credential = _stored_under(settings, [UNKNOWN_KEY])
    settings.LEDGERBRIDGE_CREDENTIAL_KEYS = [NEW_KEY, OLD_KEY]

    with pytest.raises(CredentialDecryptionError) as excinfo:
        credential_tokens(credential)

    message = f"{excinfo.value} {excinfo.value!r}"
    for secret in (credential.access_token_encrypted, credential.refresh_token_encrypted, ACCESS, REFRESH):
        assert secret not in message
    for key in (UNKNOWN_KEY, NEW_KEY, OLD_KEY):
        assert key not in message
    assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__


@pytest.mark.django_db
def test_the_rotation_command_refuses_unreadable_ciphertext_and_writes_nothing(settings) -> None:  # type: ignore[no-untyped-def]
    readable = _stored_under(settings, [OLD_KEY])
    settings.LEDGERBRIDGE_CREDENTIAL_KEYS = [UNKNOWN_KEY]
    CredentialFactory(workspace=WorkspaceFactory())  # encrypted under a key that will not be configured
    settings.LEDGERBRIDGE_CREDENTIAL_KEYS = [NEW_KEY, OLD_KEY]
    before = Credential.objects.get(pk=readable.pk).access_token_encrypted

    with pytest.raises(CommandError, match="cannot be decrypted") as excinfo:
        call_command("rotate_credential_keys", stdout=StringIO())

    assert "Nothing was re-encrypted" in str(excinfo.value)
    assert Credential.objects.get(pk=readable.pk).access_token_encrypted == before  # rolled back


@pytest.mark.django_db(transaction=True)
def test_the_rotation_command_exits_non_zero_on_unreadable_ciphertext(settings) -> None:  # type: ignore[no-untyped-def]
    stored = _stored_under(settings, [UNKNOWN_KEY])
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gateway.settings.test",
        "DATABASE_URL": database_url_for_subprocess(),
        "LEDGERBRIDGE_CREDENTIAL_KEYS": f"{NEW_KEY},{OLD_KEY}",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "rotate_credential_keys"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "cannot be decrypted with any configured key" in result.stderr
    for secret in (stored.access_token_encrypted, ACCESS, REFRESH, UNKNOWN_KEY, NEW_KEY, OLD_KEY):
        assert secret not in result.stdout + result.stderr
