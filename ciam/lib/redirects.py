"""The one redirect-safety helper: every `next` goes through `safe_next`.

Only a path on this site that belongs to one of our own flows is accepted: no scheme, no host,
no `//evil.example`, no backslash tricks, no `javascript:`, nothing outside NEXT_PREFIXES.
Client redirect URIs are checked elsewhere, by exact match against the client's registered list
(clients.models.Client.redirect_uri_allowed).
"""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

# Where a sign-in may resume: the authorization request, the device page, the person's account.
NEXT_PREFIXES = ("/oauth2/auth?", "/device", "/account/", "/console/", "/consent?")
NEXT_PATHS = ("/account",)  # the account's settings page itself


def safe_next(candidate: str | None, request: HttpRequest, default: str = "/") -> str:
    if not candidate or not isinstance(candidate, str):
        return default
    if not candidate.startswith("/") or candidate.startswith("//") or "\\" in candidate:
        return default
    if any(ord(ch) < 32 for ch in candidate):
        return default
    if not url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return default
    if candidate not in ("/", *NEXT_PATHS) and not candidate.startswith(NEXT_PREFIXES):
        return default
    return candidate
