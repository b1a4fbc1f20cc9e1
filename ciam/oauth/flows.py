"""The authorization request between /oauth2/auth and the pages that complete it.

An authorization request is validated by oauthlib (`validate`) from its URI, whichever page
holds it: the authorize endpoint itself, or the sign-in page completing it. Once the person must
be asked, the validated request is kept as an authorization flow (ciam.oauth.provider, the same
flow a consent app of the deployment's own answers through Hydra's API) under a random consent
challenge bound to their browser, so the consent page carries only that challenge: nothing a
browser sends back can alter the client, redirect URI, scopes or PKCE challenge validated.
Issuing the code (`issue_code`) re-runs oauthlib's validation first.
"""

from functools import cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2 import FatalClientError, OAuth2Error

from ciam.accounts.authn import auth_context
from ciam.oauth import provider
from ciam.oauth.client_lookup import get_client

# Values of oauthlib's request_info worth keeping; the oauthlib Request object itself is not.
_KEPT = (
    "client_id",
    "redirect_uri",
    "response_type",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "ui_locales",
    "display",
    "claims",
    "acr_values",
)


class RedirectToClient(HttpResponseRedirect):
    """A redirect to a client's registered URI: any scheme it registered (native apps)."""

    allowed_schemes = ["http", "https"]

    def __init__(self, redirect_to: str, *args, **kwargs):
        scheme = urlsplit(redirect_to).scheme
        if scheme and scheme not in {"http", "https", "javascript", "data", "vbscript", "file"}:
            self.allowed_schemes = [*self.allowed_schemes, scheme]
        super().__init__(redirect_to, *args, **kwargs)


@cache
def oauthlib_core():
    """One server per process: the validator keeps no per-request state (as in the toolkit)."""
    return oauth2_settings.OAUTH2_BACKEND_CLASS(
        oauth2_settings.OAUTH2_SERVER_CLASS(
            oauth2_settings.OAUTH2_VALIDATOR_CLASS(), **oauth2_settings.server_kwargs
        )
    )


def add_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query.extend((k, v) for k, v in params.items() if v is not None)
    return urlunsplit(parts._replace(query=urlencode(query)))


# What an error means to a person, in plain words: (headline, what to do).
PLAIN_ERRORS = {
    "invalid_client": (
        "This application isn't recognised",
        "The link you followed names an application this service doesn't know, or one that has been "
        "turned off. Go back to the application and try again; if it keeps happening, contact its support.",
    ),
    "invalid_request": (
        "This sign-in link isn't valid",
        "Something in the link that brought you here is missing, changed or out of date. Go back to the "
        "application and start again from there.",
    ),
    "unauthorized_client": (
        "This application can't sign you in this way",
        "The application asked for something it is not set up for. Its developers need to fix it; you can "
        "go back to it in the meantime.",
    ),
}
DEFAULT_PLAIN_ERROR = (
    "We can't continue",
    "Something went wrong with the request that brought you here. Go back to where you came from "
    "and try again.",
)


def _way_back(request: HttpRequest) -> tuple[str, str]:
    """Where the person can go from an error page: the application's own site when the request
    names a known, enabled client that registered one; else their account page."""
    client_id = request.GET.get("client_id") or request.POST.get("client_id") or ""
    client = get_client(client_id[:255]) if client_id else None
    if client is not None and client.is_active and client.client_uri.startswith(("https://", "http://")):
        return client.client_uri, f"Back to {client.name or 'the application'}"
    return reverse("consent:account-apps"), "Go to your account"


def error_page(request: HttpRequest, error: str, description: str, *, status: int = 400) -> HttpResponse:
    """A readable page for errors that must not go back to a client (unknown client, bad URI): in
    plain words, the technical code and description in a small details line, and a way on."""
    headline, advice = PLAIN_ERRORS.get(error, DEFAULT_PLAIN_ERROR)
    back_url, back_label = _way_back(request)
    context = {
        "error": error,
        "error_description": description,
        "headline": headline,
        "advice": advice,
        "back_url": back_url,
        "back_label": back_label,
    }
    return render(request, "error.html", context, status=status)


def error_redirect(redirect_uri: str, error: str, description: str, state: str | None) -> HttpResponse:
    """RFC 6749 §4.1.2.1 error response, with `iss` (RFC 9207). Only for a validated URI."""
    params = {"error": error, "error_description": description}
    if state:
        params["state"] = state
    params["iss"] = settings.CIAM_ISSUER
    return RedirectToClient(add_query(redirect_uri, params))


def authorization_uri(params) -> str:
    """The authorization endpoint's URI with these parameters (a QueryDict: every value kept,
    so that oauthlib refuses a repeated one)."""
    return f"{reverse('oauth:authorize')}?{params.urlencode()}"


def validate(uri: str) -> tuple[list[str], dict]:
    """oauthlib's validation of the authorization request `uri`: (scopes, credentials), where
    `credentials["request"].client` is the client it names. Raises oauthlib's FatalClientError
    (unknown client or redirect URI: never redirect) or another OAuth2Error (to the client)."""
    return oauthlib_core().server.validate_authorization_request(uri, http_method="GET")


def _jsonable(value):
    if isinstance(value, set | tuple):
        return sorted(value) if isinstance(value, set) else list(value)
    return value


def park(request: HttpRequest, *, scopes: list[str], credentials: dict, flow=None) -> str:
    """Keep a validated authorization request for the consent page (an authorization flow, as a
    consent app's, ciam.oauth.provider; `flow`, the one the sign-in page answered); return its
    consent challenge."""
    kept = {k: _jsonable(credentials[k]) for k in _KEPT if credentials.get(k) not in (None, "", [], set())}
    return provider.park_consent(
        request,
        client=credentials["request"].client,
        path=reverse("oauth:authorize"),
        scopes=scopes,
        credentials=kept,
        flow=flow,
    )


def load(request: HttpRequest, challenge: str | None) -> dict | None:
    """The parked request of this challenge (its scopes and credentials), if still open."""
    flow = provider.parked_consent(request, challenge)
    if flow is None:
        return None
    return {"scopes": flow.requested_scope, "credentials": flow.credentials, "flow": flow}


def restart_uri(pending: dict) -> str:
    """The authorization request `load` returned, as it was asked, for whoever signs in next
    (a person who is not the one signed in): without the hints that named the earlier one."""
    kept = {
        key: value
        for key, value in pending["credentials"].items()
        if key not in ("login_hint", "id_token_hint") and isinstance(value, str)
    }
    params = QueryDict(mutable=True)
    params.update({**kept, "scope": " ".join(pending["scopes"])})
    return authorization_uri(params)


def discard(pending: dict) -> bool:
    """Close a parked request `load` returned: False if it was no longer open (a consent page's
    answer counts once, even when the form is sent twice at the same moment)."""
    return provider.close_consent(pending["flow"])


def issue_code(
    request: HttpRequest,
    *,
    scopes: list[str],
    credentials: dict,
    client=None,
    uri: str | None = None,
    id_token_claims: dict | None = None,
    access_token_claims: dict | None = None,
    audience: list[str] | None = None,
) -> HttpResponse:
    """Have oauthlib issue the code for the signed-in person (it validates everything again)
    and redirect to the client, with `iss` (RFC 9207).

    The session's sign-in record travels with the code to the ID token (auth_time, amr, acr,
    sid). `client`, when the caller has just validated it, spares the second validation a read;
    `uri` is the authorization request's own, when the caller has it (else its parameters all
    come from `credentials`, as parked). `id_token_claims`, `access_token_claims`: extra claims
    a consent app gave (they travel with the code and every refresh, as the sign-in does).
    """
    given = {k: v for k, v in credentials.items() if k != "request"}
    if client is not None:
        given["client"] = client
    context = auth_context(request)
    if id_token_claims:
        context["id_token_claims"] = id_token_claims  # a consent app's session.id_token
    if access_token_claims:
        context["access_token_claims"] = access_token_claims  # and its session.access_token
    if audience:
        context["audience"] = audience  # and its grant_access_token_audience
    given.update(user=request.user, ciam_auth_context=context)
    try:
        headers, _body, _status = oauthlib_core().server.create_authorization_response(
            uri=uri or reverse("oauth:authorize"), http_method="GET", scopes=scopes, credentials=given
        )
    except FatalClientError as exc:
        return error_page(request, exc.error, exc.description or "The request cannot be completed.")
    except OAuth2Error as exc:
        return error_redirect(
            credentials["redirect_uri"], exc.error, exc.description or "", credentials.get("state")
        )
    return RedirectToClient(add_query(headers["Location"], {"iss": settings.CIAM_ISSUER}))


def deny(credentials: dict) -> HttpResponse:
    return error_redirect(
        credentials["redirect_uri"],
        "access_denied",
        "The user denied the request.",
        credentials.get("state"),
    )
