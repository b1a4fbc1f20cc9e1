"""The guard of every machine-facing protocol endpoint: RFC 6749 JSON errors, never an HTML 500.

`oauth_endpoint` wraps every machine-facing endpoint (token, revoke, introspect, userinfo,
device authorization): a wrong method, a wrong content type or a repeated parameter is refused
with `invalid_request` before any work is done, and a database outage is a 503 with an OAuth2
error body rather than a stack trace.
"""

import functools
import logging
from collections.abc import Callable

from csp.decorators import csp_exempt
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from oauthlib.common import Request as OAuthlibRequest

from ciam.lib.http import json_error
from ciam.oauth.flows import oauthlib_core

log = logging.getLogger(__name__)

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


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
                return view(request, *args, **kwargs)
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
