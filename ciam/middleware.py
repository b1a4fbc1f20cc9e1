"""Refuse input no legitimate request carries, before any view or query sees it."""

import base64
import binascii

from django.http import HttpRequest, HttpResponse, JsonResponse

_PROTOCOL_PREFIXES = ("/oauth2/", "/admin/", "/userinfo", "/.well-known/")


def _has_nul(request: HttpRequest) -> bool:
    # NUL never appears in a valid parameter, and PostgreSQL cannot store or compare it.
    if "\x00" in request.META.get("QUERY_STRING", "") or "%00" in request.META.get("QUERY_STRING", ""):
        return True
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    if "\x00" in auth:
        return True
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=False)
            # RFC 6749 §2.3.1: the credentials are form-encoded, so %00 is a NUL too.
            if b"\x00" in decoded or b"%00" in decoded:
                return True
        except (binascii.Error, ValueError):
            pass
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        try:
            body = request.body
        except Exception:  # noqa: BLE001 - too big etc.: the view answers that
            return False
        return b"%00" in body or b"\x00" in body
    return False


class RejectNulBytesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            message = "The request contains a NUL character, which no parameter may contain."
            if request.path.startswith(_PROTOCOL_PREFIXES):
                response = JsonResponse(
                    {"error": "invalid_request", "error_description": message}, status=400
                )
                response["Cache-Control"] = "no-store"
                return response
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
