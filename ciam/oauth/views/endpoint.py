"""The guard of every machine-facing protocol endpoint: RFC 6749 JSON errors, never an HTML 500.

`oauth_endpoint` wraps every machine-facing endpoint (token, revoke, introspect, userinfo,
device authorization): a wrong method, a wrong content type or a repeated parameter is refused
with `invalid_request` before any work is done, and a database outage is a 503 with an OAuth2
error body rather than a stack trace.

Refused client authentication (`invalid_client`, from oauthlib or from our own endpoints) is
answered here, whichever endpoint refused it: with `WWW-Authenticate: Basic` (RFC 6749 §5.2),
and counted per client and address (ciam.accounts.throttle). Past
CIAM_CLIENT_AUTH_MAX_FAILURES refusals within the window, a wrong secret gets 429 with
Retry-After; the secret is still checked first, so a correct one is never refused.
"""

import functools
import json
import logging
from collections.abc import Callable

from csp.decorators import csp_exempt
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from oauthlib.common import Request as OAuthlibRequest

from ciam.accounts import throttle
from ciam.accounts.models import FailedAttempt
from ciam.lib.clientip import client_ip
from ciam.lib.http import json_error
from ciam.oauth.flows import oauthlib_core
from ciam.oauth.validator import GRANT_TYPES, basic_credentials

log = logging.getLogger(__name__)

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
CLIENT_REFUSED = FailedAttempt.Kind.CLIENT_SECRET
CLIENT_REALM = 'Basic realm="ciam"'


# What an error means, for the errors oauthlib raises without a description (RFC 6749 §5.2 and
# RFC 8628 §3.5 say what each one is).
DESCRIPTIONS = {
    "invalid_client": "Client authentication failed: an unknown or disabled client, a wrong secret, "
    "or not the client's registered token_endpoint_auth_method.",
    "invalid_request": "The request is missing a required parameter or is malformed.",
    "invalid_grant": "The grant is not valid.",
    "unsupported_grant_type": "Unsupported grant_type; this server offers: " + ", ".join(GRANT_TYPES) + ".",
    "unauthorized_client": "This client is not allowed this grant.",
    "invalid_scope": "A requested scope is not allowed for this client.",
    "unsupported_token_type": "This token type cannot be revoked.",
    "authorization_pending": "The user has not yet approved the device code; poll again after the interval.",
    "slow_down": "Polling too often: wait 5 seconds longer between requests.",
    "expired_token": "The device code has expired; start again.",
    "access_denied": "The user denied the request.",
}


def _refused_client(request: HttpRequest) -> HttpResponse | None:
    """Count a refused client authentication; the 429 to answer instead, past the limit."""
    basic = basic_credentials(request)
    claimed = basic[0] if basic else request.POST.get("client_id", "")
    wait = throttle.refusal(
        CLIENT_REFUSED,
        limit=settings.CIAM_CLIENT_AUTH_MAX_FAILURES,
        window=settings.CIAM_LOGIN_FAILURE_WINDOW,
        key=claimed[:254],
        ip_address=client_ip(request),
    )
    if not wait:
        return None
    return json_error(
        "invalid_client",
        f"Too many failed authentications of this client from this address; try again in {wait} s.",
        status=429,
        headers={"Retry-After": str(wait)},
    )


def _finished(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """An error answer completed: a refused client counted (and throttled), with the scheme
    clients authenticate with; a description where oauthlib gave none."""
    if response.status_code < 400 or not isinstance(response, HttpResponse):
        return response
    try:
        body = json.loads(response.content)
    except ValueError:
        return response
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return response
    if body["error"] == "invalid_client" and response.status_code == 401:
        throttled = _refused_client(request)
        if throttled is not None:
            return throttled
        response["WWW-Authenticate"] = CLIENT_REALM  # RFC 6749 §5.2 (oauthlib says Bearer)
    if not body.get("error_description") and body["error"] in DESCRIPTIONS:
        body["error_description"] = DESCRIPTIONS[body["error"]]
        response.content = json.dumps(body)
    return response


def _refuse_body(request: HttpRequest, repeatable: tuple[str, ...]) -> HttpResponse | None:
    try:
        content_type = request.content_type or ""
        if content_type != FORM_CONTENT_TYPE and request.body:
            return json_error(
                "invalid_request", f"The request body must be {FORM_CONTENT_TYPE} (RFC 6749 §3.2)."
            )
        for name, values in request.POST.lists():
            if len(values) > 1 and name not in repeatable:
                return json_error(
                    "invalid_request", f"The parameter '{name}' was sent more than once (RFC 6749 §3.1)."
                )
    except RequestDataTooBig:
        return json_error("invalid_request", "The request body is too large.", status=413)
    except TooManyFieldsSent:
        return json_error("invalid_request", "The request has too many parameters.")
    return None


def oauth_endpoint(
    *, methods: tuple[str, ...] = ("POST",), form_body: bool = True, repeatable: tuple[str, ...] = ()
) -> Callable:
    """Guard a protocol endpoint: method, content type, repeated parameters, database errors."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
            if request.method not in methods:
                return json_error(
                    "invalid_request",
                    f"The {request.method} method is not allowed here; use {' or '.join(methods)}.",
                    status=405,
                    headers={"Allow": ", ".join(methods)},
                )
            if request.method == "POST" and form_body:
                refused = _refuse_body(request, repeatable)
                if refused is not None:
                    return refused
            try:
                return _finished(request, view(request, *args, **kwargs))
            except DatabaseError:
                log.exception("Database error while serving %s", request.path)
                return json_error(
                    "temporarily_unavailable",
                    "The service cannot reach its database; try again shortly.",
                    status=503,
                    headers={"Retry-After": "5"},
                )

        # JSON only: no CSRF (no cookie authenticates these), no document for a CSP to protect.
        return csrf_exempt(csp_exempt()(wrapper))

    return decorator


def authenticated_client(request: HttpRequest, *, confidential: bool = True):
    """The client authenticating this protocol request (RFC 6749 §2.3), or None: with its secret
    (client_secret_basic or client_secret_post, as registered), or, unless `confidential`, a
    public client naming itself. The validator decides, as it does for the token endpoint."""
    auth = request.META.get("HTTP_AUTHORIZATION")
    body = [(key, value) for key, values in request.POST.lists() for value in values]
    oauth_request = OAuthlibRequest(
        request.path, http_method="POST", body=body, headers={"Authorization": auth} if auth else {}
    )
    validator = oauthlib_core().server.request_validator
    if confidential or validator.client_authentication_required(oauth_request):
        authenticated = validator.authenticate_client(oauth_request)
    else:
        authenticated = validator.authenticate_client_id(oauth_request.client_id, oauth_request)
    client = oauth_request.client if authenticated else None
    if confidential and client is not None and client.is_public:
        return None
    return client
