"""One shape for every admin API error, Hydra's: {"error": ..., "error_description": ...}.

A validation error names the field. Nothing escapes as a 500 HTML page."""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from ciam.lib.http import Conflict

log = logging.getLogger(__name__)

_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def _flatten(detail, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        out: list[str] = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            out.extend(_flatten(value, f"{prefix}{name}" if not prefix else f"{prefix}.{name}"))
        return out
    if isinstance(detail, list):
        return [m for item in detail for m in _flatten(item, prefix)]
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def error_response(code: int, description: str, *, error: str | None = None, headers=None) -> Response:
    return Response(
        {"error": error or _CODES.get(code, "error"), "error_description": description},
        status=code,
        headers=headers,
    )


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        return error_response(400, "; ".join(_flatten(detail)))
    if isinstance(exc, Conflict):
        return error_response(409, str(exc))
    if isinstance(exc, Http404):
        return error_response(404, str(exc) or "Unable to locate the resource.")
    if isinstance(exc, DatabaseError):
        log.exception("Database error in the admin API")
        return error_response(
            503,
            "The service cannot reach its database; try again shortly.",
            error="temporarily_unavailable",
            headers={"Retry-After": "5"},
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        description = "; ".join(_flatten(exc.detail))
    else:
        description = (
            "; ".join(_flatten(response.data.get("detail", response.data)))
            if isinstance(response.data, dict)
            else str(response.data)
        )
    response.data = {"error": _CODES.get(response.status_code, "error"), "error_description": description}
    if response.status_code == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = 'Bearer realm="ciam-admin"'
    return response
