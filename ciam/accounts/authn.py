"""The sign-in recorded in the session: when, how, and which login session it was.

`auth_time`, `amr`, `acr` and `sid` reach every ID token issued from this sign-in; `max_age`
and `prompt=login` are judged against `auth_time`.
"""

import secrets
import time

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest

from ciam.accounts.models import User
from ciam.lib.clientip import client_ip


class AuthenticatedRequest(HttpRequest):
    """The request of a view that only a signed-in person reaches (@login_required): for types."""

    user: User


SESSION_KEY = "ciam_auth"
# Password sign-in: one factor. (OIDC Core §2: acr "0" would mean a long-lived cookie only.)
ACR_PASSWORD = "1"
# A password and a second factor, or a user-verifying passkey alone (ciam.accounts.factors).
ACR_MFA = "2"
# The `acr` values a sign-in here reaches, weakest first, with their strength (discovery lists them).
ACR_LEVELS = {ACR_PASSWORD: 1, ACR_MFA: 2}


def acr_level(acr: object) -> int:
    """How strong a sign-in's `acr` is: 2 for multi-factor, 1 for anything else (a login app's
    own values included)."""
    return ACR_LEVELS.get(acr, 1) if isinstance(acr, str) else 1


def mark_signed_in(
    request: HttpRequest,
    user,
    *,
    remember: bool,
    method: str = "pwd",
    amr: list[str] | None = None,
    acr: str = ACR_PASSWORD,
    remember_for: int = 0,
) -> None:
    """Sign `user` in: a new session key (no fixation), and the record of this sign-in.

    Without "remember me" the session ends with the browser; with it, it lasts `remember_for`
    seconds (0: CIAM_SESSION_LIFESPAN). A login app's accept gives its own `amr` and `acr`.
    """
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SESSION_KEY] = {
        "auth_time": int(time.time()),
        "amr": list(amr) if amr is not None else [method],
        "acr": acr,
        "sid": secrets.token_urlsafe(16),
        "remember": remember,
        # For the person's sessions page (ciam.accounts.sessions).
        "ip": client_ip(request),
        "ua": request.headers.get("User-Agent", "")[:300],
    }
    request.session.set_expiry((remember_for or settings.SESSION_COOKIE_AGE) if remember else 0)


def mark_stepped_up(request: HttpRequest, amr: list[str]) -> None:
    """The signed-in person just passed a second factor: the session is multi-factor now
    (acr "2", `amr` added with "mfa"), its sign-in time is now (the time of the last factor),
    and it gets a new key (a privilege change). The login session (`sid`) stays the same."""
    record = auth_context(request)
    request.session.cycle_key()
    methods = [m for m in record.get("amr", []) if m != "mfa"]
    methods += [m for m in amr if m not in methods and m != "mfa"]
    request.session[SESSION_KEY] = {
        **record,
        "amr": [*methods, "mfa"],
        "acr": ACR_MFA,
        "auth_time": int(time.time()),
    }


def auth_context(request: HttpRequest) -> dict:
    """This session's sign-in record ({} when nobody is signed in)."""
    if not request.user.is_authenticated:
        return {}
    context = request.session.get(SESSION_KEY)
    if not context:
        # Signed in by other means (e.g. a test's force_login): treat it as happening now.
        context = {
            "auth_time": int(time.time()),
            "amr": ["pwd"],
            "acr": ACR_PASSWORD,
            "sid": secrets.token_urlsafe(16),
        }
        request.session[SESSION_KEY] = context
    return dict(context)


# A session's "last seen" is written at most this often (a write per request would be a waste).
SEEN_EVERY = 300


class LastSeenMiddleware:
    """Keep each signed-in session's last use, to within SEEN_EVERY seconds (after
    AuthenticationMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        response = self.get_response(request)
        record = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        # (An admin API call's user may be DRF's unauthenticated None.)
        if isinstance(record, dict) and getattr(request.user, "is_authenticated", False):
            now = int(time.time())
            if now - int(record.get("seen") or record.get("auth_time") or 0) >= SEEN_EVERY:
                request.session[SESSION_KEY] = {**record, "seen": now}
        return response
