"""Refuse input no legitimate request carries, before any view or query sees it."""

import base64
import binascii

from django.http import HttpRequest, HttpResponse, JsonResponse

_PROTOCOL_PREFIXES = ("/oauth2/", "/admin/", "/userinfo", "/.well-known/")


def _has_nul(request: HttpRequest) -> bool:
    body = b""
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        try:
            body = request.body
        except Exception:  # noqa: BLE001 - too big etc.: the view answers that
            body = b""
    return contains_nul(
        request.META.get("QUERY_STRING", ""), request.META.get("HTTP_AUTHORIZATION", ""), body
    )


def contains_nul(query_string: str, authorization: str, form_body: bytes) -> bool:
    """Whether a NUL hides in the query string, the Authorization header (Basic credentials
    included) or a form body. NUL never appears in a valid parameter, and PostgreSQL cannot store
    or compare it. Shared with the WSGI fast path (ciam.oauth.fastpath)."""
    if "\x00" in query_string or "%00" in query_string:
        return True
    if "\x00" in authorization:
        return True
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=False)
            # RFC 6749 §2.3.1: the credentials are form-encoded, so %00 is a NUL too.
            if b"\x00" in decoded or b"%00" in decoded:
                return True
        except (binascii.Error, ValueError):
            pass
    return b"%00" in form_body or b"\x00" in form_body


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


class ProtocolFastLaneMiddleware:
    """Serve the machine-to-machine JSON endpoints without the browser-page middleware.

    The token, introspection, revocation and userinfo endpoints, discovery, JWKS and the health
    checks never use a session, a cookie, CSRF (they are exempt), messages or htmx, and answer
    JSON that no frame or CSP header protects. For these exact paths the view is called here, so
    the middleware after this one (sessions, CSRF, authentication, messages, clickjacking, CSP,
    htmx) is skipped; everything before it (security headers, CORS, static files, NUL bytes)
    still runs. The host is still checked against ALLOWED_HOSTS and Content-Length is still set,
    as CommonMiddleware would.
    Any other path, including every page a person sees, takes the full stack.
    """

    PATHS = frozenset(
        {
            "/oauth2/token",
            "/oauth2/introspect",
            "/oauth2/revoke",
            "/userinfo",
            "/.well-known/openid-configuration",
            "/.well-known/jwks.json",
            "/health/alive",
            "/health/ready",
        }
    )

    def __init__(self, get_response):
        self.get_response = get_response
        self._matches: dict = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path not in self.PATHS:
            return self.get_response(request)
        request.get_host()  # DisallowedHost (a 400) for a host outside ALLOWED_HOSTS
        match = self._matches.get(path)
        if match is None:
            from django.urls import resolve

            match = self._matches[path] = resolve(path)
        request.resolver_match = match
        response = match.func(request, *match.args, **match.kwargs)
        if not response.streaming and "Content-Length" not in response:
            # As CommonMiddleware would: keep-alive connections need the length.
            response["Content-Length"] = str(len(response.content))
        return response
