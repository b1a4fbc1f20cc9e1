"""The two busiest machine-to-machine requests, answered before Django's request machinery.

A client-credentials token request and an introspection are most of what an identity server
serves. When one is the plain case, it is answered here, from the WSGI call, by the same code the
views run: the toolkit's validator authenticates the client (`views.authenticated_client`),
oauthlib's own client-credentials grant issues the token (`views.issue_client_credentials`), and
`introspection.introspect` answers. What is skipped is Django's generic work around them: the
request object, the middleware chain, URL resolving and the response object (a fifth of such a
request's instructions, and about 40 % more introspections per second under load). The headers
Django's middleware would add (security headers, `Vary: Origin`) are taken once from that
middleware itself (`_middleware_headers`).

The plain case, and nothing else: POST to the exact path, no query string, no Origin (CORS is
Django's), no X-Forwarded-Host, a host in ALLOWED_HOSTS, an https request where
SECURE_SSL_REDIRECT asks for one, a form body of at most 8 KB with a Content-Length, ASCII, no NUL,
no repeated or unknown parameter, and credentials in a Basic Authorization header. Anything else,
and every refusal (wrong credentials, a client changed since this process kept it, a database
error), goes to Django untouched, with the body put back, and is answered there with its usual
errors: the fast path only ever answers 200.

The test suite sends its requests through this too (tests/conftest.py), so every token and
introspection test runs on it, and tests/oauth/test_wsgi_fast_path.py compares its answers with
Django's, header by header.
"""

import io
import json
import logging
import weakref
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.cache import close_caches
from django.core.exceptions import DisallowedHost
from django.core.handlers.base import reset_urlconf
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started, setting_changed
from django.db import DatabaseError, close_old_connections, reset_queries
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from ciam.middleware import contains_nul
from ciam.oauth import clientcache
from ciam.oauth.introspection import introspect
from ciam.oauth.validator import ClientChanged
from ciam.oauth.views import authenticated_client, issue_client_credentials, protocol_request

log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth2/token"
INTROSPECT_PATH = "/oauth2/introspect"
MAX_BODY = 8192
_FORM_TYPES = frozenset(
    {
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8",
        "application/x-www-form-urlencoded;charset=utf-8",
    }
)
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

# Hosts seen allowed (only those; a refused one goes to Django, which answers 400) and the headers
# the middleware adds per (path, https). Both are cleared when a setting changes (tests).
_ALLOWED_HOSTS: set = set()
_HEADERS: dict[tuple[str, bool], list[tuple[str, str]]] = {}


@receiver(setting_changed)
def _forget_settings(**kwargs) -> None:
    _ALLOWED_HOSTS.clear()
    _HEADERS.clear()


class _Probe(HttpRequest):
    """A request to `path`, secure or not, for asking the middleware which headers it adds."""

    def __init__(self, path: str, secure: bool):
        super().__init__()
        self.path = self.path_info = path
        self.method = "POST"
        self._secure = secure

    def is_secure(self) -> bool:
        return self._secure


def _middleware_headers(path: str, secure: bool) -> list[tuple[str, str]]:
    """What SecurityMiddleware and CorsMiddleware add to a JSON answer on `path` for a request
    without an Origin: asked of the middleware classes themselves, once."""
    key = (path, secure)
    headers = _HEADERS.get(key)
    if headers is None:
        from django.middleware.security import SecurityMiddleware

        from ciam.oauth.cors import CorsMiddleware

        def respond(_request):
            return HttpResponse()

        probe = _Probe(path, secure)
        response = HttpResponse()
        before = set(response.headers)
        response = CorsMiddleware(respond).add_response_headers(probe, response)
        response = SecurityMiddleware(respond).process_response(probe, response)
        headers = _HEADERS[key] = [(k, v) for k, v in response.items() if k not in before]
    return headers


def _is_secure(environ: dict) -> bool:
    # As HttpRequest.scheme decides it.
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = environ.get(header)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"


def _host_allowed(environ: dict, secure: bool) -> bool:
    """Django's own host check (HttpRequest.get_host, ALLOWED_HOSTS and all), remembered for the
    hosts it allowed."""
    key = environ.get("HTTP_HOST") or (environ.get("SERVER_NAME"), environ.get("SERVER_PORT"), secure)
    if key in _ALLOWED_HOSTS:
        return True
    probe = _Probe("", secure)
    probe.META = {k: environ[k] for k in ("HTTP_HOST", "SERVER_NAME", "SERVER_PORT") if k in environ}
    try:
        probe.get_host()
    except (DisallowedHost, KeyError):
        return False
    if len(_ALLOWED_HOSTS) < 64:
        _ALLOWED_HOSTS.add(key)
    return True


def _plain_form(environ: dict, allowed: frozenset) -> tuple[dict, bool] | None:
    """The parameters, and whether the request came over https, if this is the plain case;
    None for Django (body restored)."""
    if (
        environ.get("REQUEST_METHOD") != "POST"
        or environ.get("QUERY_STRING")
        or "HTTP_ORIGIN" in environ
        or "HTTP_X_FORWARDED_HOST" in environ
        or "HTTP_X_FORWARDED_PORT" in environ
        or "HTTP_TRANSFER_ENCODING" in environ
        or environ.get("CONTENT_TYPE", "").lower() not in _FORM_TYPES
        or not environ.get("HTTP_AUTHORIZATION", "").startswith("Basic ")
    ):
        return None
    length = environ.get("CONTENT_LENGTH", "")
    if not length.isdigit() or not 0 < int(length) <= MAX_BODY:
        return None
    secure = _is_secure(environ)
    if settings.SECURE_SSL_REDIRECT and not secure:
        return None
    if not _host_allowed(environ, secure):
        return None
    stream = environ["wsgi.input"]
    body = stream.read(int(length))
    # Whatever happens next, Django can read the same body again.
    environ["wsgi.input"] = io.BytesIO(body)
    if len(body) != int(length) or not body.isascii():
        return None
    if contains_nul("", environ["HTTP_AUTHORIZATION"], body):
        return None
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    params = dict(pairs)
    if len(params) != len(pairs) or not params.keys() <= allowed:
        return None  # a repeated or unexpected parameter: Django's guard and grant decide
    return params, secure


def _json(path: str, secure: bool, headers: dict, body: str) -> tuple[str, list, bytes]:
    """A 200 as the view's response would be after the middleware: its headers, then no-store
    and no-cache (as views._django_response), the middleware's headers and the length."""
    content = body.encode()
    fields = [
        *{**headers, **_NO_STORE}.items(),
        *_middleware_headers(path, secure),
        ("Content-Length", str(len(content))),
    ]
    return "200 OK", fields, content


_TOKEN_PARAMS = frozenset({"grant_type", "scope"})
_INTROSPECT_PARAMS = frozenset({"token", "token_type_hint"})


def _token(environ: dict) -> tuple[str, list, bytes] | None:
    form = _plain_form(environ, _TOKEN_PARAMS)
    if form is None or form[0].get("grant_type") != "client_credentials":
        return None
    params, secure = form
    oauth_request = protocol_request(
        TOKEN_PATH, list(params.items()), environ["HTTP_AUTHORIZATION"], optimistic=True
    )
    issued = issue_client_credentials(oauth_request)
    if issued is None:
        return None
    headers, body = issued  # oauthlib's
    return _json(TOKEN_PATH, secure, headers, body)


def _introspect(environ: dict) -> tuple[str, list, bytes] | None:
    form = _plain_form(environ, _INTROSPECT_PARAMS)
    if form is None or not form[0].get("token"):
        return None
    params, secure = form
    oauth_request = protocol_request(
        INTROSPECT_PATH, list(params.items()), environ["HTTP_AUTHORIZATION"], optimistic=True
    )
    client, unverified = authenticated_client(oauth_request)
    if client is None:
        return None
    try:
        answer = introspect(
            params["token"],
            token_type_hint=params.get("token_type_hint", ""),
            caller=client,
            verify_caller=unverified,
        )
    except ClientChanged:
        clientcache.forget(client.client_id)
        return None
    # As the view's JsonResponse.
    return _json(INTROSPECT_PATH, secure, {"Content-Type": "application/json"}, json.dumps(answer))


_ROUTES = {TOKEN_PATH: _token, INTROSPECT_PATH: _introspect}

# Django's own receivers of the request signals. For a request answered here, all that matters of
# them is close_old_connections: no query is logged outside DEBUG (reset_queries), no cache is
# used (close_caches) and no URLconf is set (reset_urlconf). Sending the signals through them
# costs a sixth of an introspection's instructions (each looks up a context-local).
_DJANGO_S_OWN = {
    request_started: frozenset({reset_queries, close_old_connections}),
    request_finished: frozenset({close_old_connections, close_caches, reset_urlconf}),
}


def _only_django_s_own_receivers() -> bool:
    """Whether both request signals have exactly Django's own receivers: nothing added (an APM,
    a test's), nothing removed (the test client keeps its connection), and not DEBUG."""
    if settings.DEBUG:
        return False
    for signal, own in _DJANGO_S_OWN.items():
        receivers = signal.receivers
        if len(receivers) != len(own):
            return False
        for _key, connected, _is_async in receivers:
            if isinstance(connected, weakref.ReferenceType):
                connected = connected()
            if connected not in own:
                return False
    return True


def answer(environ: dict) -> tuple[str, list, bytes] | None:
    """(status, headers, body) for a plain token or introspection request, else None for Django.

    Database connections are checked and recycled around the work as Django's handler does: by
    sending request_started and request_finished, or, when only Django's own receivers would
    get them, by calling the one that matters here, close_old_connections, directly."""
    route = _ROUTES.get(environ.get("PATH_INFO"))
    if route is None:
        return None
    direct = _only_django_s_own_receivers()
    if direct:
        close_old_connections()
    else:
        request_started.send(sender=FastPathHandler, environ=environ)
    try:
        return route(environ)
    except DatabaseError:
        # Django's handler serves it again, on a connection it checks first (503 if still down).
        log.warning("Database error on the fast path of %s; retrying the checked way", environ["PATH_INFO"])
        return None
    except Exception:
        # Never a bare 500 from here: Django serves the request again and answers as it would.
        log.exception(
            "Unexpected error on the fast path of %s; retrying the checked way", environ["PATH_INFO"]
        )
        return None
    finally:
        if direct:
            close_old_connections()
        else:
            request_finished.send(sender=FastPathHandler)


class FastPathHandler(WSGIHandler):
    """Django's WSGI handler, with the plain token and introspection requests answered first."""

    def __call__(self, environ, start_response):
        served = answer(environ)
        if served is None:
            return super().__call__(environ, start_response)
        status, headers, body = served
        start_response(status, headers)
        return [body]
