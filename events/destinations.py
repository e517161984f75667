"""Where webhooks may go: no private, loopback, link-local or otherwise internal address unless the operator allows it.

Checked when an endpoint is saved (a literal address) and again before every attempt (the name resolved then), so
a host whose DNS later points inside the network is refused at delivery time.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class DestinationNotAllowed(Exception):
    """The URL's host is (or resolves to) an address webhooks must not reach."""


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def destination_check(url: str, *, resolve: bool) -> None:
    """Raise DestinationNotAllowed for an internal destination (unless LEDGERBRIDGE_WEBHOOK_ALLOW_PRIVATE)."""
    if settings.LEDGERBRIDGE_WEBHOOK_ALLOW_PRIVATE:
        return
    host = urlsplit(url).hostname or ""
    if not host:
        raise DestinationNotAllowed("The URL has no host.")
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        raise DestinationNotAllowed(f"{host} is a loopback name.")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        if not resolve:
            return
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            raise DestinationNotAllowed(f"{host} does not resolve ({exc.__class__.__name__}).") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    for address in addresses:
        if _internal(address):
            raise DestinationNotAllowed(f"{host} is an internal address ({address}).")
