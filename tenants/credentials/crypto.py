"""Encryption of vendor credentials at rest with MultiFernet: keys from the environment, newest first."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class CredentialDecryptionError(Exception):
    """Stored ciphertext that none of the configured keys opens: a hard error, never an empty credential."""


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("LEDGERBRIDGE_CREDENTIAL_KEYS is empty: credentials cannot be encrypted.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured("LEDGERBRIDGE_CREDENTIAL_KEYS holds a value that is not a Fernet key.") from exc


def _fernet() -> MultiFernet:
    return _multi_fernet(tuple(settings.LEDGERBRIDGE_CREDENTIAL_KEYS))


def encrypt(plaintext: str) -> str:
    """Encrypt with the newest key."""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        # Never include the ciphertext or any key material in the message.
        raise CredentialDecryptionError(
            "A stored credential cannot be decrypted with any configured key (LEDGERBRIDGE_CREDENTIAL_KEYS)."
        ) from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt under the newest key (MultiFernet.rotate); raises CredentialDecryptionError if unreadable."""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise CredentialDecryptionError(
            "A stored credential cannot be decrypted with any configured key (LEDGERBRIDGE_CREDENTIAL_KEYS)."
        ) from None
