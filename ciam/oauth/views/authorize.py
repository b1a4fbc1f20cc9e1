"""GET/POST /oauth2/auth, and the sign-in that completes an authorization request it interrupted.

Both ask the same question (ciam.oauth.authorize.decide) and turn its decision into a response:
the endpoint answers every decision; the sign-in page answers only a code or the consent page,
and otherwise sends the browser on to the authorization request, which answers itself.
"""

import time
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from oauthlib.oauth2 import FatalClientError, OAuth2Error

from ciam.accounts.authn import auth_context
from ciam.oauth import flows
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
    Valid,
    decide,
    is_silent,
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
    except FatalClientError as exc:
        found: Valid | Invalid = Invalid(exc.error, exc.description or "")
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
        person = Person(str(request.user.pk), request.user.email, context["auth_time"], fresh=fresh)
    decision = decide(
        found, params=params, person=person, hint_subject=_hint_subject(params), now=time.time()
    )
    return decision, found, credentials


def _issue_or_ask(
    request: HttpRequest, params: QueryDict, decision: IssueCode | AskConsent, credentials: dict
) -> HttpResponse:
    client = credentials["request"].client
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
    challenge = flows.park(request, scopes=decision.scopes, credentials=credentials)
    return redirect(f"{reverse('consent:consent')}?consent_challenge={challenge}")


def _to_login(request: HttpRequest, decision: SignIn) -> HttpResponse:
    """Send the person to sign in, then back to this very request. A new sign-in asked for while
    someone is signed in (prompt=login, max_age, another person named) ends nothing: the session
    is replaced only when the new sign-in succeeds (a link cannot sign anyone out), and the
    sign-in that completes the request satisfies it (ciam.oauth.authorize.Person.fresh)."""
    query = {"next": request.get_full_path()}
    if decision.login_hint:
        query["login_hint"] = decision.login_hint
    return redirect(f"{reverse('accounts:login')}?{urlencode(query)}")


@csrf_exempt  # a POSTed authorization request (OIDC Core §3.1.2.1) is equivalent to the GET
@never_cache
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """GET/POST /oauth2/auth: validate, identify the person, consent, redirect with a code."""
    params = request.GET if request.method == "GET" else request.POST
    decision, _, credentials = _consider(request, params, fresh=False)
    if isinstance(decision, ErrorPage):
        return flows.error_page(request, decision.error, decision.description)
    if isinstance(decision, Refuse):
        return flows.error_redirect(
            decision.redirect_uri, decision.error, decision.description, decision.state
        )
    if isinstance(decision, SignIn):
        return _to_login(request, decision)
    return _issue_or_ask(request, params, decision, credentials)


def complete_after_sign_in(request: HttpRequest, next_url: str) -> HttpResponse | None:
    """The answer to the sign-in (or registration) POST that just signed the person in, when its
    `next` is an authorization request: the code, or the consent page, as /oauth2/auth would
    answer once the browser followed the redirect, without that round trip.

    None for any other decision (an error, another sign-in), and for a prompt=none request,
    which shows no page and so is no page's to complete: the caller then redirects to `next_url`,
    whose authorization request answers itself. `next_url` must already have passed
    ciam.lib.redirects.safe_next.
    """
    path, _, query = next_url.partition("?")
    if path != reverse("oauth:authorize"):
        return None
    params = QueryDict(query)
    if is_silent(params):
        return None
    decision, _, credentials = _consider(request, params, fresh=True)
    if isinstance(decision, IssueCode | AskConsent):
        return _issue_or_ask(request, params, decision, credentials)
    return None
