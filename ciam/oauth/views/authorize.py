"""GET/POST /oauth2/auth, and the sign-in that completes an authorization request it interrupted.

Both ask the same question (ciam.oauth.authorize.decide) and turn its decision into a response:
the endpoint answers every decision; the sign-in page answers only a code or the consent page,
and otherwise sends the browser on to the authorization request, which answers itself.

With a login and consent app of the deployment's own (CIAM_LOGIN_URL, CIAM_CONSENT_URL), the
same decisions are answered by sending the browser there with a challenge, and the browser
comes back here with a verifier (ciam.oauth.provider, Hydra v2's flow): the decision is taken
again for the person the app signed in, with the scopes it granted.
"""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from oauthlib.oauth2 import FatalClientError, OAuth2Error
from oauthlib.oauth2.rfc6749.errors import InvalidClientIdError, MissingClientIdError

from ciam.accounts.authn import acr_level, auth_context, mark_signed_in
from ciam.accounts.services import user_for_subject
from ciam.oauth import flows, provider
from ciam.oauth.authorize import (
    INVALID_HINT,
    AskConsent,
    Decision,
    ErrorPage,
    Invalid,
    IssueCode,
    Person,
    Refuse,
    SignIn,
    StepUp,
    Valid,
    decide,
    is_silent,
    required_level,
)
from ciam.oauth.keys import id_token_claims


def _hint_subject(params: QueryDict):
    token = params.get("id_token_hint")
    if not token:
        return None
    claims = id_token_claims(token)
    return claims["sub"] if claims and isinstance(claims.get("sub"), str) else INVALID_HINT


def _consider(
    request: HttpRequest, params: QueryDict, *, fresh: bool
) -> tuple[Decision, Valid | Invalid, dict]:
    """Validate the authorization request `params` for the person of `request`, and decide.
    Returns the decision, what validation found, and oauthlib's credentials (if valid)."""
    credentials: dict = {}
    try:
        scopes, credentials = flows.validate(flows.authorization_uri(params))
    except (InvalidClientIdError, MissingClientIdError) as exc:
        # oauthlib says invalid_request; to the person (and in the page's details) it is the client.
        found: Valid | Invalid = Invalid("invalid_client", exc.description or "")
    except FatalClientError as exc:
        found = Invalid(exc.error, exc.description or "")
    except OAuth2Error as exc:
        found = Invalid(exc.error, exc.description or "", exc.redirect_uri, exc.state)
    else:
        client = credentials["request"].client
        user = request.user
        consented = user.is_authenticated and (
            client.skip_consent or client.remembered_consent_covers(user, scopes)
        )
        found = Valid(scopes, credentials["redirect_uri"], credentials.get("state"), consented)
    person = None
    if request.user.is_authenticated:
        context = auth_context(request)
        person = Person(
            request.user.oidc_subject,
            request.user.email,
            context["auth_time"],
            fresh=fresh,
            level=acr_level(context.get("acr")),
        )
    decision = decide(
        found,
        params=params,
        person=person,
        hint_subject=_hint_subject(params),
        now=time.time(),
        required=_required(params, credentials),
    )
    return decision, found, credentials


def _required(params: QueryDict, credentials: dict) -> int | None:
    """The level the request's sign-in must reach. A login app of the deployment's own decides
    that itself (it reads the request's acr_values, the client's requirement among them)."""
    if settings.CIAM_LOGIN_URL or "request" not in credentials:
        return 1
    return required_level(
        policy=settings.CIAM_MFA,
        client_requires=credentials["request"].client.require_mfa,
        acr_values=params.get("acr_values") or "",
    )


def _issue_or_ask(
    request: HttpRequest, params: QueryDict, decision: IssueCode | AskConsent, credentials: dict, flow=None
) -> HttpResponse:
    client = credentials["request"].client
    if settings.CIAM_REQUIRE_VERIFIED_EMAIL and not getattr(request.user, "email_verified", False):
        # The deployment lets only verified addresses into applications: verify, then go on.
        if is_silent(params):
            return flows.error_redirect(
                credentials["redirect_uri"],
                "interaction_required",
                "The person's e-mail address must be verified first.",
                credentials.get("state"),
            )
        return redirect(
            f"{reverse('accounts:verification')}?{urlencode({'next': flows.authorization_uri(params)})}"
        )
    if isinstance(decision, IssueCode):
        # The client this request was just validated against rides along: oauthlib's second
        # validation, before the code is issued, then needs no second read of it.
        return flows.issue_code(
            request,
            scopes=decision.scopes,
            credentials=credentials,
            client=client,
            uri=flows.authorization_uri(params),
        )
    challenge = flows.park(request, scopes=decision.scopes, credentials=credentials, flow=flow)
    return redirect(f"{reverse('consent:consent')}?consent_challenge={challenge}")


def _to_login(
    request: HttpRequest, params: QueryDict, decision: SignIn | StepUp, credentials: dict
) -> HttpResponse:
    """Send the person to sign in, with the request kept as an authorization flow under a login
    challenge (ciam.oauth.provider: the same flow a login app of the deployment's own answers,
    here answered by the sign-in page). A new sign-in asked for while someone is signed in
    (prompt=login, max_age, another person named) ends nothing: the session is replaced only
    when the new sign-in succeeds (a link cannot sign anyone out), and the sign-in that
    completes the request satisfies it (ciam.oauth.authorize.Person.fresh)."""
    oauth_request = credentials["request"]
    challenge = provider.start_login(
        request,
        path=flows.authorization_uri(params),
        client=oauth_request.client,
        scopes=list(oauth_request.scopes or []),
        audience=(params.get("audience") or "").split(),
        oidc_context=_oidc_context(params, oauth_request.client),
        skip_subject="",
        session_id="",
    )
    query = {"login_challenge": challenge}
    if isinstance(decision, StepUp):
        # Signed in with a password only: the second factor (or its set-up) is what is asked.
        return redirect(f"{reverse('accounts:login-factor')}?{urlencode(query)}")
    if decision.login_hint:
        query["login_hint"] = decision.login_hint
    return redirect(f"{reverse('accounts:login')}?{urlencode(query)}")


def _answer(request: HttpRequest, params: QueryDict, decision: Decision, credentials: dict) -> HttpResponse:
    if isinstance(decision, ErrorPage):
        return flows.error_page(request, decision.error, decision.description)
    if isinstance(decision, Refuse):
        return flows.error_redirect(
            decision.redirect_uri, decision.error, decision.description, decision.state
        )
    if isinstance(decision, SignIn | StepUp):
        return _to_login(request, params, decision, credentials)
    return _issue_or_ask(request, params, decision, credentials)


# --- A login and consent app of the deployment's own (Hydra v2's provider flow) ----------------


def _oidc_context(params: QueryDict, client=None) -> dict:
    acr_values = (params.get("acr_values") or "").split()
    if client is not None and client.require_mfa and settings.CIAM_MFA != "off":
        acr_values = ["2"]  # the client's requirement, for the login app to honour
    return {
        "acr_values": acr_values,
        "display": params.get("display") or "",
        "login_hint": params.get("login_hint") or "",
        "ui_locales": (params.get("ui_locales") or "").split(),
    }


def _to_login_app(
    request: HttpRequest, params: QueryDict, decision: Decision, found: Valid, client
) -> HttpResponse:
    """Every interactive request goes through the login app, as with Hydra: with `skip` when a
    remembered sign-in needs no new one (the app then accepts at once)."""
    context = auth_context(request)
    remembered = request.user.is_authenticated and context.get("remember", True)
    subject = getattr(request.user, "oidc_subject", "")
    skip_subject = subject if remembered and not isinstance(decision, SignIn) else ""
    challenge = provider.start_login(
        request,
        path=flows.authorization_uri(params),
        client=client,
        scopes=found.scopes,
        audience=(params.get("audience") or "").split(),
        oidc_context=_oidc_context(params, client),
        skip_subject=skip_subject,
        session_id=context.get("sid", "") if skip_subject else "",
    )
    return redirect(login_app_url(challenge))


def _stale(request: HttpRequest) -> HttpResponse:
    return flows.error_page(
        request,
        "invalid_request",
        "This sign-in step is no longer valid (used, expired, or started in another browser). "
        "Go back to the application and start again.",
    )


def _refused_by_app(request: HttpRequest, params: QueryDict, result: dict) -> HttpResponse:
    """A login or consent app's reject: its error, to the client's validated redirect URI."""
    try:
        _, credentials = flows.validate(flows.authorization_uri(params))
    except Exception:  # noqa: BLE001 - any refusal of the request itself: the error page
        return _stale(request)
    return flows.error_redirect(
        credentials["redirect_uri"], result["error"], result["error_description"], credentials.get("state")
    )


def sign_in_from_login_app(request: HttpRequest, flow) -> tuple:
    """Sign in the identity a login app accepted: (the identity, whether the remembered sign-in
    was kept as it was). The browser keeps its flows across the new session key."""
    result = flow.login_result
    user = user_for_subject(result["subject"])
    kept = flow.login_skip and request.user.is_authenticated and request.user.pk == user.pk
    if not kept:
        bound = request.session.get(provider.SESSION_KEY, {})
        mark_signed_in(
            request,
            user,
            remember=result["remember"],
            amr=result["amr"] or ["pwd"],
            acr=result["acr"],
            remember_for=result["remember_for"],
        )
        request.session[provider.SESSION_KEY] = bound
    return user, kept


def login_app_url(challenge: str) -> str:
    return flows.add_query(settings.CIAM_LOGIN_URL, {"login_challenge": challenge})


def consent_app_url(challenge: str) -> str:
    return flows.add_query(settings.CIAM_CONSENT_URL, {"consent_challenge": challenge})


def _from_login_app(request: HttpRequest, params: QueryDict, verifier: str) -> HttpResponse:
    flow = provider.login_verified(request, verifier, request.get_full_path())
    clean = _without_verifiers(params)
    if flow is None:
        return _stale(request)
    result = flow.login_result or {}
    if "error" in result:
        return _refused_by_app(request, clean, result)
    user, kept = sign_in_from_login_app(request, flow)
    decision, found, credentials = _consider(request, clean, fresh=not kept)
    if isinstance(decision, AskConsent) and settings.CIAM_CONSENT_URL:
        challenge = provider.start_consent(
            flow,
            subject=user.oidc_subject,
            skip=False,
            context={"acr": result["acr"], "amr": result["amr"], "context": result.get("context")},
        )
        return redirect(consent_app_url(challenge))
    return _answer(request, clean, decision, credentials)


def _from_consent_app(request: HttpRequest, params: QueryDict, verifier: str) -> HttpResponse:
    flow = provider.consent_verified(request, verifier, request.get_full_path())
    clean = _without_verifiers(params)
    if flow is None or getattr(request.user, "oidc_subject", None) != flow.consent_subject:
        return _stale(request)
    result = flow.consent_result or {}
    if "error" in result:
        return _refused_by_app(request, clean, result)
    decision, found, credentials = _consider(request, clean, fresh=True)
    if not isinstance(decision, IssueCode | AskConsent):
        return _answer(request, clean, decision, credentials)
    return flows.issue_code(
        request,
        scopes=result["grant_scope"],
        credentials=credentials,
        client=credentials["request"].client,
        uri=flows.authorization_uri(clean),
        id_token_claims=result["session"].get("id_token"),
        access_token_claims=result["session"].get("access_token"),
        audience=result["grant_access_token_audience"],
    )


def _without_verifiers(params: QueryDict) -> QueryDict:
    clean = params.copy()
    for name in provider.VERIFIER_PARAMETERS:
        clean.pop(name, None)
    return clean


@csrf_exempt  # a POSTed authorization request (OIDC Core §3.1.2.1) is equivalent to the GET
@never_cache
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """GET/POST /oauth2/auth: validate, identify the person, consent, redirect with a code."""
    params = request.GET if request.method == "GET" else request.POST
    if settings.CIAM_LOGIN_URL and params.get("login_verifier"):
        return _from_login_app(request, params, params["login_verifier"])
    if settings.CIAM_LOGIN_URL and params.get("consent_verifier"):
        return _from_consent_app(request, params, params["consent_verifier"])
    decision, found, credentials = _consider(request, params, fresh=False)
    if (
        settings.CIAM_LOGIN_URL
        and isinstance(found, Valid)
        and isinstance(decision, SignIn | IssueCode | AskConsent)
        and not is_silent(params)
    ):
        return _to_login_app(request, params, decision, found, credentials["request"].client)
    return _answer(request, params, decision, credentials)


def complete_after_sign_in(request: HttpRequest, next_url: str, flow=None) -> HttpResponse | None:
    """The answer to the sign-in (or registration) POST that just signed the person in, when its
    `next` is an authorization request: the code, or the consent page, as /oauth2/auth would
    answer once the browser followed the redirect, without that round trip.

    None for any other decision (an error, another sign-in), and for a prompt=none request,
    which shows no page and so is no page's to complete: the caller then redirects to `next_url`,
    whose authorization request answers itself. `next_url` must already have passed
    ciam.lib.redirects.safe_next (or be the request of `flow`, the authorization flow whose login
    step the page answered: its consent step then goes on in the same flow).
    """
    path, _, query = next_url.partition("?")
    if path != reverse("oauth:authorize"):
        return None
    params = QueryDict(query)
    if is_silent(params):
        return None
    decision, _, credentials = _consider(request, params, fresh=True)
    if isinstance(decision, IssueCode | AskConsent):
        return _issue_or_ask(request, params, decision, credentials, flow)
    return None
