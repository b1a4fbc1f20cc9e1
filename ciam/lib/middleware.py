"""Refuse input no legitimate request carries, before any view or query sees it."""

import base64
import binascii

from django.http import HttpRequest, HttpResponse

from ciam.lib.http import json_error

_JSON_PREFIXES = ("/oauth2/", "/admin/", "/userinfo", "/.well-known/")


def contains_nul(query_string: str, authorization: str, form_body: bytes) -> bool:
    """Whether a NUL hides in the query string, the Authorization header (Basic credentials
    included) or a form body. NUL never appears in a valid parameter, and PostgreSQL cannot store
    or compare it."""
    if "\x00" in query_string or "%00" in query_string or "\x00" in authorization:
        return True
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=False)
        except (binascii.Error, ValueError):
            decoded = b""
        # RFC 6749 §2.3.1: the credentials are form-encoded, so %00 is a NUL too.
        if b"\x00" in decoded or b"%00" in decoded:
            return True
    return b"%00" in form_body or b"\x00" in form_body


class RejectNulBytesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        body = b""
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            try:
                body = request.body
            except Exception:  # noqa: BLE001 - too big etc.: the view answers that
                body = b""
        if contains_nul(
            request.META.get("QUERY_STRING", ""), request.META.get("HTTP_AUTHORIZATION", ""), body
        ):
            message = "The request contains a NUL character, which no parameter may contain."
            if request.path.startswith(_JSON_PREFIXES):
                return json_error("invalid_request", message)
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
