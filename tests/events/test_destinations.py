"""events/destinations.py: webhooks never reach private, loopback, link-local or otherwise internal addresses
(unless the operator allows it), by literal address when saved and by the resolved name before each attempt."""

from __future__ import annotations

from typing import Any

import pytest

from events.destinations import DestinationNotAllowed, destination_check


@pytest.fixture(autouse=True)
def _refuse_private(settings: Any) -> None:
    settings.LEDGERBRIDGE_WEBHOOK_ALLOW_PRIVATE = False


@pytest.mark.parametrize(
    "url",
    [
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://127.0.0.1:8443/hooks",
        "https://169.254.169.254/latest/meta-data",  # cloud metadata: link-local
        "https://[::1]/hooks",
        "https://[::ffff:10.0.0.1]/hooks",  # an IPv4-mapped IPv6 address is judged as its IPv4 address
        "https://[fe80::1]/hooks",
        "https://0.0.0.0/hooks",
        "https://224.0.0.1/hooks",
        "https://localhost/hooks",
        "https://api.LOCALHOST/hooks",
        "https:///hooks",
    ],
)
def test_internal_destinations_are_refused_without_resolving(url: str) -> None:
    with pytest.raises(DestinationNotAllowed):
        destination_check(url, resolve=False)


def test_a_public_address_passes_and_a_name_is_only_judged_once_resolved() -> None:
    destination_check("https://93.184.215.14/hooks", resolve=False)
    destination_check("https://hooks.example.com/hooks", resolve=False)  # saved: its DNS is checked at delivery


def test_a_name_that_resolves_inside_or_not_at_all_is_refused_at_delivery() -> None:
    # Shorthand and hex forms of 127.0.0.1 are not address literals to `ipaddress`, but the resolver reads them.
    for host in ("127.1", "0x7f000001"):
        destination_check(f"https://{host}/hooks", resolve=False)  # when saved: a name, judged at delivery
        with pytest.raises(DestinationNotAllowed, match="internal address"):
            destination_check(f"https://{host}/hooks", resolve=True)
    with pytest.raises(DestinationNotAllowed, match="does not resolve"):
        destination_check("https://no-such-host.invalid/hooks", resolve=True)


def test_the_operator_may_allow_internal_destinations(settings: Any) -> None:
    settings.LEDGERBRIDGE_WEBHOOK_ALLOW_PRIVATE = True
    destination_check("http://127.0.0.1:9000/hooks", resolve=True)
