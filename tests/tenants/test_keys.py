"""tenants/keys.py: the API key format `lb_<12>.<43>`, its parsing and hashing."""

from __future__ import annotations

import hashlib

from tenants import keys


def test_a_generated_key_parses_back_to_its_prefix_and_hashes_as_sha256() -> None:
    generated = keys.generate_key()

    assert generated.prefix.startswith("lb_") and len(generated.prefix) == 15
    assert generated.secret.startswith(f"{generated.prefix}.")
    assert keys.parse_key(generated.secret) == generated.prefix
    assert (
        generated.key_hash == hashlib.sha256(generated.secret.encode()).hexdigest() == keys.hash_key(generated.secret)
    )


def test_prefixes_avoid_look_alike_characters() -> None:
    prefixes = "".join(keys.generate_key().prefix[3:] for _ in range(200))
    assert not set(prefixes) & set("0O1lI")


def test_text_that_cannot_be_a_key_has_no_prefix() -> None:
    good = keys.generate_key().secret
    for raw in ("", good[:-1], good + "x", "xx" + good[2:], good.replace(".", "-", 1), f" {good}", f"{good}\n"):
        assert keys.parse_key(raw) is None, raw
