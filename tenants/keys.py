"""The API key format: `lb_<prefix>.<secret>`; generation, parsing and hashing."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

KEY_PREFIX = "lb_"
# No look-alike characters (0/O, 1/l/I): prefixes are read aloud in support calls.
_PREFIX_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
_KEY_PATTERN = re.compile(r"(lb_[A-Za-z0-9]{12})\.([A-Za-z0-9_\-]{43})")


@dataclass(frozen=True)
class GeneratedKey:
    prefix: str
    secret: str  # the whole key, shown to the caller exactly once

    @property
    def key_hash(self) -> str:
        return hash_key(self.secret)


def generate_key() -> GeneratedKey:
    prefix = KEY_PREFIX + "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(12))
    return GeneratedKey(prefix=prefix, secret=f"{prefix}.{secrets.token_urlsafe(32)}")


def parse_key(raw: str) -> str | None:
    """The prefix of a well-formed key, or None when the text cannot be a key of ours."""
    match = _KEY_PATTERN.fullmatch(raw)  # whole text: `match` with `$` took a trailing newline
    return match.group(1) if match else None


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
