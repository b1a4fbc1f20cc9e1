"""How protocol endpoints answer: RFC 6749 JSON errors, never an HTML 500.

`oauth_endpoint` wraps every machine-facing endpoint (token, revoke, introspect, userinfo,
device authorization): a wrong method, a wrong content type or a repeated parameter is refused
with `invalid_request` before any work is done, and a database outage is a 503 with an OAuth2
error body rather than a stack trace.
"""

import functools
import logging
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

log = logging.getLogger(__name__)

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def oauth_error(
    error: str, description: str, *, status: int = 400, headers: dict[str, str] | None = None
) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _refuse_body(request: HttpRequest, repeatable: tuple[str, ...]) -> HttpResponse | None:
    try:
        content_type = request.content_type or ""
        if content_type != FORM_CONTENT_TYPE and request.body:
            return oauth_error(
                "invalid_request", f"The request body must be {FORM_CONTENT_TYPE} (RFC 6749 §3.2)."
            )
        for name, values in request.POST.lists():
            if len(values) > 1 and name not in repeatable:
                return oauth_error(
                    "invalid_request", f"The parameter '{name}' was sent more than once (RFC 6749 §3.1)."
                )
    except RequestDataTooBig:
        return oauth_error("invalid_request", "The request body is too large.", status=413)
    except TooManyFieldsSent:
        return oauth_error("invalid_request", "The request has too many parameters.")
    return None


def oauth_endpoint(
    *, methods: tuple[str, ...] = ("POST",), form_body: bool = True, repeatable: tuple[str, ...] = ()
) -> Callable:
    """Guard a protocol endpoint: method, content type, repeated parameters, database errors."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in methods:
                return oauth_error(
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
                return oauth_error(
                    "temporarily_unavailable",
                    "The service cannot reach its database; try again shortly.",
                    status=503,
                    headers={"Retry-After": "5"},
                )

        return csrf_exempt(wrapper)

    return decorator
