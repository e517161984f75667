"""manage.py rotate_credential_keys: re-encrypt every stored vendor secret under the newest credential key.

Put the new key first in LEDGERBRIDGE_CREDENTIAL_KEYS (keep the old ones after it), run this, then drop the old keys.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tenants.credentials.crypto import CredentialDecryptionError
from tenants.credentials.store import credentials_reencrypt_all


class Command(BaseCommand):
    help = "Re-encrypt stored credentials and app secrets under the newest LEDGERBRIDGE_CREDENTIAL_KEYS key."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            changed = credentials_reencrypt_all()
        except CredentialDecryptionError as exc:
            # Nothing was written: the re-encryption runs in one transaction and stops before committing.
            raise CommandError(
                f"{exc} Nothing was re-encrypted. Add the missing key to LEDGERBRIDGE_CREDENTIAL_KEYS (after the "
                "newest one) and run the command again."
            ) from None
        self.stdout.write(f"Re-encrypted {changed} stored credential record(s) under the newest key.")
