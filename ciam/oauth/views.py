"""Protocol endpoints. Paths follow Ory Hydra v2 (see ciam/urls.py)."""

import copy
import json
import logging
import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.views.oidc import RPInitiatedLogoutView
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc6749.utils import scope_to_list

from ciam.audit.services import audit_record
from ciam.clientip import client_ip
from ciam.oauth import clientcache, flows
from ciam.oauth.introspection import introspect
from ciam.oauth.keys import jwks
from ciam.oauth.responses import oauth_endpoint, oauth_error
from ciam.oauth.scopes import known_scopes
from ciam.oauth.validator import ClientChanged
from clients.models import Client

log = logging.getLogger(__name__)

GRANT_TYPES_SUPPORTED = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
]
CLAIMS_SUPPORTED = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "sid",
    "amr",
    "acr",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "updated_at",
]


def _url(name: str) -> str:
    return settings.CIAM_ISSUER + reverse(name)


def error_page(request: HttpRequest, error: str, description: str, *, status: int = 400) -> HttpResponse:
    """A readable page for errors that must not go back to a client (unknown client, bad URI)."""
    return render(request, "error.html", {"error": error, "error_description": description}, status=status)


# --- Discovery ---------------------------------------------------------------------------------


_DISCOVERY: tuple[float, tuple, dict] | None = None
DISCOVERY_TTL = 60.0


@require_GET
def discovery(request: HttpRequest) -> JsonResponse:
    """OpenID Connect Discovery 1.0 and RFC 8414 metadata (built at most once a minute per process)."""
    global _DISCOVERY
    inputs = (settings.CIAM_ISSUER, settings.CIAM_DCR_ENABLED, tuple(settings.CIAM_EXTRA_SCOPES))
    if _DISCOVERY is None or _DISCOVERY[1] != inputs or time.monotonic() - _DISCOVERY[0] > DISCOVERY_TTL:
        _DISCOVERY = (time.monotonic(), inputs, _discovery_document())
    response = JsonResponse(_DISCOVERY[2])
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _discovery_document() -> dict:
    from ciam.oauth.keys import current_signing_key

    algorithm = current_signing_key().algorithm
    document = {
        "issuer": settings.CIAM_ISSUER,
        "authorization_endpoint": _url("oauth:authorize"),
        "token_endpoint": _url("oauth:token"),
        "jwks_uri": _url("oauth:jwks"),
        "userinfo_endpoint": _url("oauth:userinfo"),
        "revocation_endpoint": _url("oauth:revoke"),
        "introspection_endpoint": _url("oauth:introspect"),
        "end_session_endpoint": _url("oauth:logout"),
        "device_authorization_endpoint": _url("oauth:device-authorization"),
        "scopes_supported": list(known_scopes()),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GRANT_TYPES_SUPPORTED,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [algorithm],
        "id_token_signed_response_alg": [algorithm],
        "userinfo_signing_alg_values_supported": ["none"],
        "userinfo_signed_response_alg": ["none"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS_SUPPORTED,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": False,
    }
    if settings.CIAM_DCR_ENABLED:
        document["registration_endpoint"] = _url("oauth:register")
    return document


@require_GET
def jwks_view(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(jwks())
    # Short: a rotated key must reach verifiers well before it signs anything they cannot verify.
    response["Cache-Control"] = "public, max-age=60"
    response["Access-Control-Allow-Origin"] = "*"
    return response


# --- Authorization endpoint ----------------------------------------------------------------------


def _params(request: HttpRequest):
    return request.GET if request.method == "GET" else request.POST


def _resume_url(request: HttpRequest) -> str:
    """The authorize URL to resume after a forced sign-in, minus `prompt=login` (no loop)."""
    params = _params(request).copy()
    remaining = " ".join(p for p in params.get("prompt", "").split() if p != "login")
    if remaining:
        params["prompt"] = remaining
    else:
        params.pop("prompt", None)
    return f"{reverse('oauth:authorize')}?{params.urlencode()}"


def _to_login(request: HttpRequest, *, fresh: bool, login_hint: str = "") -> HttpResponse:
    """Send the person to sign in, then back here. `fresh` ends the current session first, so that
    a forced re-authentication cannot be skipped by editing the URL."""
    if fresh:
        logout(request)
    query = {"next": _resume_url(request) if fresh else request.get_full_path()}
    if login_hint:
        query["login_hint"] = login_hint
    return redirect(f"{reverse('consent:login')}?{urlencode(query)}")


def _hint_subject(id_token_hint: str) -> str | None:
    """The `sub` of an ID token we issued (expired is fine, OIDC Core §3.1.2.1), else None."""
    from jwcrypto import jwt as jose_jwt
    from jwcrypto.common import JWException

    validator = flows.oauthlib_core().server.request_validator
    key = validator._get_key_for_token(id_token_hint)
    if key is None:
        return None
    try:
        claims = json.loads(jose_jwt.JWT(key=key, jwt=id_token_hint, check_claims={}).claims)
    except (JWException, ValueError, TypeError):
        return None
    if claims.get("iss") != settings.CIAM_ISSUER or not isinstance(claims.get("sub"), str):
        return None
    return claims["sub"]


@csrf_exempt  # a POSTed authorization request (OIDC Core §3.1.2.1) is equivalent to the GET
@never_cache
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """GET/POST /oauth2/auth: validate, identify the person, consent, redirect with a code.

    OIDC Core §3.1.2.1: `prompt=login` and an exceeded `max_age` force a new sign-in;
    `prompt=consent` forces the consent page; `prompt=none` never shows a page and answers
    login_required, consent_required or interaction_required instead. `login_hint` prefills the
    sign-in; `id_token_hint` must name the signed-in person.
    """
    return _authorize(request, just_signed_in=False)


def complete_after_sign_in(request: HttpRequest, next_url: str) -> HttpResponse | None:
    """The answer to the sign-in (or registration) POST that just signed the person in, when its
    `next` is an authorization request: that request's own answer, computed here as /oauth2/auth
    would compute it once the browser followed the redirect (validated again by oauthlib, the
    consent checked, the code issued or the consent page parked), without the extra round trip.

    None where /oauth2/auth should answer itself instead (an error, or a request that asks for
    another sign-in): the caller then redirects to `next_url` as before, and nothing was changed.
    `next_url` must already have passed ciam.redirects.safe_next.
    """
    path, _, query = next_url.partition("?")
    if path != reverse("oauth:authorize"):
        return None
    return _authorize(_as_authorization_request(request, path, query), just_signed_in=True)


def _as_authorization_request(request: HttpRequest, path: str, query: str) -> HttpRequest:
    """`request` (a form POST) as the GET of `path?query` the browser would send next: the same
    person, session, host and headers; none of the form's fields (no password reaches oauthlib)."""
    inner = copy.copy(request)
    inner.method = "GET"
    inner.path = inner.path_info = path
    inner.META = {**request.META, "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query}
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        inner.META.pop(name, None)
    inner.GET = QueryDict(query)
    inner._post, inner._files = QueryDict(), MultiValueDict()
    return inner


def _authorize(request: HttpRequest, *, just_signed_in: bool) -> HttpResponse | None:
    """authorize()'s work. `just_signed_in`: called by complete_after_sign_in in the request
    that signed the person in; then every answer other than a code or the consent page is None,
    decided before anything is changed."""
    from consent.authn import auth_context
    from consent.selectors import consent_for

    core = flows.oauthlib_core()
    try:
        scopes, credentials = core.validate_authorization_request(request)
    except FatalClientError as exc:
        # Unknown client or unregistered redirect URI: never redirect (RFC 6749 §4.1.2.1).
        if just_signed_in:
            return None
        err = exc.oauthlib_error
        return error_page(request, err.error, err.description or "The request cannot be completed.")
    except OAuthToolkitError as exc:
        if just_signed_in:
            return None
        err = exc.oauthlib_error
        return flows.error_redirect(err.redirect_uri, err.error, err.description or "", err.state)

    oauth_request = credentials.pop("request", None)
    client = oauth_request.client
    params = _params(request)
    prompt = set(params.get("prompt", "").split())
    redirect_uri, state = credentials["redirect_uri"], credentials.get("state")
    silent = "none" in prompt

    def refuse(error: str, description: str) -> HttpResponse | None:
        return None if just_signed_in else flows.error_redirect(redirect_uri, error, description, state)

    if silent and len(prompt) > 1:
        return refuse("invalid_request", "prompt=none cannot be combined with other prompt values.")
    unknown_prompt = prompt - {"none", "login", "consent", "select_account"}
    if unknown_prompt:
        return refuse("invalid_request", f"Unsupported prompt value: {' '.join(sorted(unknown_prompt))}.")
    max_age = None
    if params.get("max_age") not in (None, ""):
        try:
            max_age = int(params["max_age"])
        except ValueError:
            max_age = -1
        if max_age < 0:
            return refuse("invalid_request", "max_age must be a non-negative number of seconds.")
    login_hint = params.get("login_hint", "")[:254]
    hint_sub = None
    if params.get("id_token_hint"):
        hint_sub = _hint_subject(params["id_token_hint"])
        if hint_sub is None:
            return refuse("invalid_request", "id_token_hint is not an ID token issued by this server.")

    # 1. Who is signing in, and is that sign-in recent and the right person's?
    if not request.user.is_authenticated:
        if silent:
            return refuse("login_required", "The user is not signed in.")
        return _to_login(request, fresh=False, login_hint=login_hint)
    if silent and just_signed_in:
        return None
    context = auth_context(request)
    # A sign-in in this very request satisfies any max_age, 0 included.
    too_old = not just_signed_in and max_age is not None and time.time() - context["auth_time"] > max_age
    wrong_person = hint_sub is not None and hint_sub != str(request.user.pk)
    if silent and (too_old or wrong_person):
        return refuse("login_required", "The user must sign in again.")
    if silent and login_hint and login_hint.lower() != request.user.email:
        return refuse("interaction_required", "Another account is signed in; the user must choose.")
    if "login" in prompt or too_old or wrong_person or "select_account" in prompt:
        return None if just_signed_in else _to_login(request, fresh=True, login_hint=login_hint)

    # 2. Has the person allowed this client these scopes?
    if "consent" not in prompt:
        # The client this request was just validated against rides along: oauthlib's second
        # validation, before the code is issued, then needs no second query for it.
        if client.skip_consent:
            return flows.issue_code(request, scopes=scopes, credentials={**credentials, "client": client})
        consent = consent_for(user=request.user, client=client)
        if consent is not None and consent.covers(scopes):
            return flows.issue_code(request, scopes=scopes, credentials={**credentials, "client": client})
    if silent:
        return refuse("consent_required", "The user has not consented to this request.")
    challenge = flows.park(request, scopes=scopes, credentials=credentials)
    return redirect(f"{reverse('consent:consent')}?consent_challenge={challenge}")


# --- Token, revocation, introspection, userinfo ---------------------------------------------------


def _django_response(headers: dict, body: str | None, status: int) -> HttpResponse:
    response = HttpResponse(content=body or "", status=status, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


@oauth_endpoint()
def token(request: HttpRequest) -> HttpResponse:
    """POST /oauth2/token: authorization_code, refresh_token, client_credentials."""
    if request.POST.get("grant_type") == "client_credentials" and not request.META.get("QUERY_STRING"):
        issued = _client_credentials_fast(request)
        if issued is not None:
            return issued
    _uri, headers, body, status = flows.oauthlib_core().create_token_response(request)
    return _django_response(headers, body, status)


def _oauthlib_request(request: HttpRequest, *, optimistic: bool) -> OAuthlibRequest:
    return protocol_request(
        request.path,
        list(request.POST.items()),
        request.META.get("HTTP_AUTHORIZATION"),
        optimistic=optimistic,
    )


def protocol_request(path: str, params: list, auth: str | None, *, optimistic: bool) -> OAuthlibRequest:
    """What oauthlib and the validator read of a POSTed protocol request (its form parameters and
    Authorization header), without the toolkit's copy of every header and re-encoded body.
    `optimistic`: the validator may use the client this process keeps without re-reading it; the
    caller must then prove it unchanged (see issue_client_credentials, introspect_view).
    Shared by the views and the WSGI fast path (ciam.oauth.fastpath)."""
    oauth_request = OAuthlibRequest(
        path,
        http_method="POST",
        body=params,
        headers={"HTTP_AUTHORIZATION": auth, "Authorization": auth} if auth else {},
    )
    oauth_request.ciam_optimistic = optimistic
    return oauth_request


def _client_credentials_fast(request: HttpRequest) -> HttpResponse | None:
    issued = issue_client_credentials(_oauthlib_request(request, optimistic=True))
    return None if issued is None else _django_response(issued[0], issued[1], 200)


def issue_client_credentials(oauth_request: OAuthlibRequest) -> tuple[dict, str] | None:
    """The busiest grant with one statement instead of two: (headers, body), or None to take the
    checked path.

    oauthlib's own client-credentials grant runs with the same validator and checks (client
    authentication, grant allowed, scopes, persistence), but against the client as this process
    last saw it, without the query that re-checks it: the token's INSERT carries that check
    instead and writes nothing unless the client is still enabled at the same revision (every
    change to a client bumps it: secret, grants, scopes, disabling; deletion removes the row).
    Only a token issued that way is answered from here. Anything else (a client not kept yet or
    changed since, and every refusal) returns None, and the request is served again by the
    generic path, which re-reads the client and decides, with its own errors. The toolkit's
    generic marshalling (a copy of every header, re-encoding the body) is skipped too; the
    endpoint guard (or the fast path's own checks) has already refused a wrong method, content
    type or repeated parameter.
    """
    server = flows.oauthlib_core().server
    oauth_request.scopes = scope_to_list(oauth_request.scope)
    oauth_request.extra_credentials = None
    grant = server.grant_types["client_credentials"]
    try:
        headers, body, status = grant.create_token_response(oauth_request, server.default_token_type)
    except ClientChanged as changed:
        clientcache.forget(str(changed))
        return None
    if status != 200:
        return None
    return headers, body


@oauth_endpoint()
def revoke(request: HttpRequest) -> HttpResponse:
    """POST /oauth2/revoke (RFC 7009): 200 for any token, known or not, once the client is authenticated."""
    if not request.POST.get("token"):
        return oauth_error("invalid_request", "The 'token' parameter is required.")
    _uri, headers, body, status = flows.oauthlib_core().create_revocation_response(request)
    return _django_response(headers, body, status)


def _authenticated_client(request: HttpRequest, *, optimistic: bool = False):
    return authenticated_client(_oauthlib_request(request, optimistic=optimistic))


def authenticated_client(oauth_request: OAuthlibRequest):
    """The confidential client authenticating this request, or None; for an optimistic request,
    also whether it is the kept client, unchecked (then (client, True))."""
    optimistic = oauth_request.ciam_optimistic
    validator = flows.oauthlib_core().server.request_validator
    client = oauth_request.client if validator.authenticate_client(oauth_request) else None
    if client is None or client.is_public:
        client = None
    if optimistic:
        return client, getattr(oauth_request, "ciam_client_unverified", None) is not None
    return client


@oauth_endpoint()
def introspect_view(request: HttpRequest) -> HttpResponse:
    """POST /oauth2/introspect (RFC 7662) for clients.

    Resource servers (clients allowed `ciam:introspect`) may introspect any token; any other
    confidential client only its own. Public clients cannot authenticate, so cannot introspect.
    """
    # The caller as this process keeps it; the token lookup proves it unchanged in the same
    # statement. A refusal or a changed caller is decided again the checked way.
    client, unverified = _authenticated_client(request, optimistic=True)
    if client is not None and request.POST.get("token"):
        try:
            return _introspection_response(request, caller=client, verify_caller=unverified)
        except ClientChanged:
            clientcache.forget(client.client_id)
    client = _authenticated_client(request)
    if client is None:
        return oauth_error(
            "invalid_client",
            "Client authentication failed (client_secret_basic or client_secret_post).",
            status=401,
            headers={"WWW-Authenticate": 'Basic realm="ciam"'},
        )
    return _introspection_response(request, caller=client)


def _introspection_response(
    request: HttpRequest, *, caller, required_scopes=None, verify_caller: bool = False
) -> HttpResponse:
    token_value = request.POST.get("token")
    if not token_value:
        return oauth_error("invalid_request", "The 'token' parameter is required.")
    answer = introspect(
        token_value,
        token_type_hint=request.POST.get("token_type_hint", ""),
        caller=caller,
        required_scopes=required_scopes,
        verify_caller=verify_caller,
    )
    response = JsonResponse(answer)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


@oauth_endpoint(methods=("GET", "POST"))
def userinfo(request: HttpRequest) -> HttpResponse:
    """GET/POST /userinfo: the claims the access token's scopes release (OIDC Core §5.3)."""
    _uri, headers, body, status = flows.oauthlib_core().create_userinfo_response(request)
    response = HttpResponse(content=body or "", status=status, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    if status == 200:
        response["Cache-Control"] = "no-store"
    elif status == 401 and _valid_without_openid(request):
        # RFC 6750 §3.1: a valid token that lacks the scope is 403 insufficient_scope, not 401.
        response = oauth_error(
            "insufficient_scope",
            "The access token lacks the 'openid' scope.",
            status=403,
            headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="openid"'},
        )
    elif not body:
        response.content = json.dumps(
            {
                "error": "invalid_token",
                "error_description": "A valid access token is required (Authorization: Bearer ...).",
            }
        )
    return response


def _valid_without_openid(request: HttpRequest) -> bool:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not value:
        return False
    answer = introspect(value.strip(), caller=None)
    return (
        answer["active"] and answer["token_use"] == "access_token" and "openid" not in answer["scope"].split()
    )


# --- Logout ----------------------------------------------------------------------------------------


class LogoutView(RPInitiatedLogoutView):
    """GET/POST /oauth2/sessions/logout: OpenID Connect RP-Initiated Logout 1.0.

    A valid `id_token_hint` signs out without asking; without one the person confirms. The
    `post_logout_redirect_uri` must be registered for the client, exactly.
    """

    template_name = "consent/logout_confirm.html"

    def validate_post_logout_redirect_uri(self, application, post_logout_redirect_uri):
        # The toolkit refuses http for public clients; registration already allows http only on
        # loopback (native apps, RFC 8252 §7.3), so an exact match to the registered list is the rule.
        from oauth2_provider.exceptions import InvalidOIDCClientError, InvalidOIDCRedirectURIError

        if not post_logout_redirect_uri:
            return
        if not application:
            raise InvalidOIDCClientError()
        if not application.post_logout_redirect_uri_allowed(post_logout_redirect_uri):
            raise InvalidOIDCRedirectURIError("This address is not registered for this application.")

    def get_request_application(self, id_token, client_id):
        # The toolkit's .get() raises DoesNotExist (a 500) for an unknown client_id.
        from oauth2_provider.exceptions import InvalidOIDCClientError

        if client_id:
            client = Client.objects.filter(client_id=str(client_id)[:255]).first()
            if client is None:
                raise InvalidOIDCClientError()
            return client
        return id_token.application if id_token else None

    def do_logout(self, application=None, post_logout_redirect_uri=None, state=None, token_user=None):
        user = token_user or self.request.user
        if getattr(user, "is_authenticated", False):
            audit_record(
                event="logout",
                actor=user,
                subject=user.email,
                client_id=application.client_id if application else "",
                ip_address=client_ip(self.request),
            )
        return super().do_logout(application, post_logout_redirect_uri, state, token_user)


logout_view = never_cache(LogoutView.as_view())


# --- Health ----------------------------------------------------------------------------------------

_MIGRATIONS_APPLIED = False


@require_GET
def health_alive(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_GET
def health_ready(request: HttpRequest) -> JsonResponse:
    """Ready when the database answers and every migration is applied."""
    global _MIGRATIONS_APPLIED
    from django.db import DatabaseError, connection
    from django.db.migrations.executor import MigrationExecutor

    errors: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _MIGRATIONS_APPLIED:
            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
            if plan:
                errors["migrations"] = f"{len(plan)} migration(s) not applied"
            else:
                _MIGRATIONS_APPLIED = True
    except DatabaseError as exc:
        errors["database"] = f"unreachable: {exc.__class__.__name__}"
    if errors:
        return JsonResponse({"errors": errors}, status=503)
    return JsonResponse({"status": "ok"})
