"""The authorization request between /oauth2/auth and the pages that complete it.

A validated authorization request is parked in the person's session under a random challenge
(as Hydra's login/consent challenges), so the login and consent pages carry only that challenge:
nothing a browser sends back can alter the client, redirect URI, scopes or PKCE challenge that
were validated. Completing re-runs oauthlib's validation before a code is issued.
"""

import secrets
import time
from functools import cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.settings import oauth2_settings

_SESSION_KEY = "ciam_authz"
_MAX_PENDING = 8
_PENDING_LIFESPAN = 30 * 60

# Values of oauthlib's request_info worth keeping; the oauthlib Request object itself is not.
_KEPT = (
    "client_id",
    "redirect_uri",
    "response_type",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "ui_locales",
    "display",
    "claims",
    "acr_values",
)


class RedirectToClient(HttpResponseRedirect):
    """A redirect to a client's registered URI: any scheme it registered (native apps)."""

    allowed_schemes = ["http", "https"]

    def __init__(self, redirect_to: str, *args, **kwargs):
        scheme = urlsplit(redirect_to).scheme
        if scheme and scheme not in {"http", "https", "javascript", "data", "vbscript", "file"}:
            self.allowed_schemes = [*self.allowed_schemes, scheme]
        super().__init__(redirect_to, *args, **kwargs)


@cache
def oauthlib_core():
    """One server per process: the validator keeps no per-request state (as in the toolkit)."""
    return oauth2_settings.OAUTH2_BACKEND_CLASS(
        oauth2_settings.OAUTH2_SERVER_CLASS(
            oauth2_settings.OAUTH2_VALIDATOR_CLASS(), **oauth2_settings.server_kwargs
        )
    )


def add_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query.extend((k, v) for k, v in params.items() if v is not None)
    return urlunsplit(parts._replace(query=urlencode(query)))


def error_redirect(redirect_uri: str, error: str, description: str, state: str | None) -> HttpResponse:
    """RFC 6749 §4.1.2.1 error response, with `iss` (RFC 9207). Only for a validated URI."""
    params = {"error": error, "error_description": description}
    if state:
        params["state"] = state
    params["iss"] = settings.CIAM_ISSUER
    return RedirectToClient(add_query(redirect_uri, params))


def _jsonable(value):
    if isinstance(value, set | tuple):
        return sorted(value) if isinstance(value, set) else list(value)
    return value


def park(request: HttpRequest, *, scopes: list[str], credentials: dict) -> str:
    """Store a validated authorization request in the session; return its challenge."""
    pending = {
        k: v
        for k, v in request.session.get(_SESSION_KEY, {}).items()
        if v.get("at", 0) > time.time() - _PENDING_LIFESPAN
    }
    while len(pending) >= _MAX_PENDING:
        pending.pop(min(pending, key=lambda k: pending[k]["at"]))
    challenge = secrets.token_urlsafe(24)
    kept = {k: _jsonable(credentials[k]) for k in _KEPT if credentials.get(k) not in (None, "", [], set())}
    pending[challenge] = {"scopes": list(scopes), "credentials": kept, "at": time.time()}
    request.session[_SESSION_KEY] = pending
    return challenge


def load(request: HttpRequest, challenge: str | None) -> dict | None:
    if not challenge or not isinstance(challenge, str):
        return None
    entry = request.session.get(_SESSION_KEY, {}).get(challenge)
    if not entry or entry.get("at", 0) <= time.time() - _PENDING_LIFESPAN:
        return None
    return entry


def discard(request: HttpRequest, challenge: str) -> None:
    pending = request.session.get(_SESSION_KEY, {})
    if pending.pop(challenge, None) is not None:
        request.session[_SESSION_KEY] = pending


def issue_code(request: HttpRequest, *, scopes: list[str], credentials: dict) -> HttpResponse:
    """Ask oauthlib to issue the code (it re-validates everything) and redirect to the client.

    The session's sign-in record travels with the code to the ID token (auth_time, amr, acr, sid).
    """
    from consent.authn import auth_context

    try:
        uri, _headers, _body, _status = oauthlib_core().create_authorization_response(
            request,
            scopes=scopes,
            credentials={**credentials, "ciam_auth_context": auth_context(request)},
            allow=True,
        )
    except FatalClientError as exc:
        from ciam.oauth.views import error_page

        return error_page(request, exc.oauthlib_error.error, exc.oauthlib_error.description)
    except OAuthToolkitError as exc:
        err = exc.oauthlib_error
        return error_redirect(
            credentials["redirect_uri"], err.error, err.description or "", credentials.get("state")
        )
    return RedirectToClient(uri)


def deny(credentials: dict) -> HttpResponse:
    return error_redirect(
        credentials["redirect_uri"],
        "access_denied",
        "The user denied the request.",
        credentials.get("state"),
    )
