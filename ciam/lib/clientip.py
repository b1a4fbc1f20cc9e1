"""The caller's IP address, also behind reverse proxies (for throttling and the audit log).

X-Forwarded-For is read only when the direct peer is a proxy listed in CIAM_TRUSTED_PROXIES, and
then from the right: each trusted proxy appended the address it saw, so the first address from
the right that is not a trusted proxy is the caller. Entries further left are whatever the caller
sent and are never believed (otherwise anyone could dodge the sign-in throttle by inventing one).
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    # The settings refuse to start with an invalid entry, so every one parses here.
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    peer = request.META.get("REMOTE_ADDR") or None
    trusted = _networks(tuple(settings.CIAM_TRUSTED_PROXIES))
    if not trusted or peer is None:
        return peer

    def is_trusted(address) -> bool:
        return any(address in network for network in trusted)

    peer_address = _address(peer)
    if peer_address is None or not is_trusted(peer_address):
        return peer
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for entry in reversed(hops.split(",")[:32]):
        address = _address(entry)
        if address is None:
            break  # a malformed hop: trust nothing beyond it
        if not is_trusted(address):
            return str(address)
    return peer


def ip_in(ip: str | None, networks: list[str] | tuple[str, ...]) -> bool:
    """Whether the address `ip` (as client_ip gives it) is in one of `networks`."""
    address = _address(ip) if ip else None
    return address is not None and any(address in network for network in _networks(tuple(networks)))
