"""The authorization decision: what to do with an authorization request, as one pure function.

`decide()` reads what the caller found out (oauthlib's validation, the person's sign-in, the
remembered consent, the subject of an id_token_hint) and returns a decision; it has no side
effect and reads nothing else. The authorize endpoint and the sign-in page that completes an
interrupted request each turn decisions into responses (ciam.oauth.views.authorize).

OIDC Core §3.1.2.1: `prompt=login` and an exceeded `max_age` ask for a new sign-in;
`prompt=consent` asks for consent again; `prompt=none` never shows a page and answers
login_required, consent_required or interaction_required instead. `login_hint` prefills the
sign-in; `id_token_hint` must name the signed-in person.

Multi-factor (ciam.accounts.factors): a request needs level 2 (acr "2") when the deployment
requires it (CIAM_MFA=required), when its client does (`require_mfa`), or when its `acr_values`
ask for nothing weaker; a person signed in less strongly is asked for the second factor only
(`StepUp`), never the password again; with prompt=none that is interaction_required.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from ciam.accounts.authn import ACR_LEVELS

PROMPTS = ("none", "login", "consent", "select_account")
# discovery lists them, in this order
# The prompt values a new sign-in answers.
SIGN_IN_PROMPTS = frozenset({"login", "select_account"})
# An id_token_hint that is not an ID token this server issued.
INVALID_HINT = object()


# --- What the caller found out ----------------------------------------------------------------


@dataclass(frozen=True)
class Invalid:
    """oauthlib refused the request. Without `redirect_uri` (unknown client, unregistered URI)
    the answer must never go back to the client (RFC 6749 §4.1.2.1)."""

    error: str
    description: str
    redirect_uri: str | None = None
    state: str | None = None


@dataclass(frozen=True)
class Valid:
    """oauthlib accepted the request for these scopes."""

    scopes: list[str]
    redirect_uri: str
    state: str | None
    # Whether the person need not be asked: a first-party client, or a remembered consent that
    # covers the scopes (only looked up for a signed-in person).
    consented: bool


@dataclass(frozen=True)
class Person:
    """Who is signed in, and since when."""

    subject: str
    email: str
    auth_time: int
    # Signed in within this very request: satisfies prompt=login and any max_age, 0 included (a
    # sign-in a second old would be "older than 0 seconds" by the time the browser came back).
    fresh: bool = False
    # How strongly (ACR_LEVELS): 1 a password, 2 multi-factor.
    level: int = 1


# --- Decisions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """Send the person to sign in, then back. `again`: a new sign-in is required although someone
    is signed in (prompt=login or select_account, max_age exceeded, another person named)."""

    login_hint: str
    again: bool


@dataclass(frozen=True)
class StepUp:
    """The right person is signed in, less strongly than the request needs: ask for a second
    factor (or its set-up), then back."""


@dataclass(frozen=True)
class Refuse:
    """An error for the client, at its (validated) redirect URI."""

    error: str
    description: str
    redirect_uri: str
    state: str | None


@dataclass(frozen=True)
class ErrorPage:
    """An error shown to the person: it cannot go back to the client."""

    error: str
    description: str


@dataclass(frozen=True)
class IssueCode:
    scopes: list[str]


@dataclass(frozen=True)
class AskConsent:
    scopes: list[str]


Decision = SignIn | StepUp | Refuse | ErrorPage | IssueCode | AskConsent


def is_silent(params: Mapping[str, str]) -> bool:
    """prompt=none: the request may show no page at all (so no page completes it either)."""
    return "none" in (params.get("prompt") or "").split()


def required_level(*, policy: str, client_requires: bool, acr_values: str) -> int | None:
    """The level a sign-in must reach for a request: 2 when the deployment (`policy`
    "required") or the client requires multi-factor, or when every `acr_values` entry this server
    knows asks for it (they are alternatives, OIDC Core §3.1.2.1; unknown ones are ignored); else
    1. None when it cannot be reached: the client requires multi-factor, the deployment is "off"."""
    if policy == "off":
        return None if client_requires else 1
    if policy == "required" or client_requires:
        return 2
    known = [ACR_LEVELS[value] for value in (acr_values or "").split() if value in ACR_LEVELS]
    return min(known) if known else 1


def decide(
    request: Valid | Invalid,
    *,
    params: Mapping[str, str],
    person: Person | None,
    hint_subject: object = None,
    now: float,
    required: int | None = 1,
) -> Decision:
    """What to do with the authorization request whose parameters are `params`.

    `hint_subject` is the `sub` of the request's id_token_hint (None without one, INVALID_HINT
    if it is not an ID token of this server); `now` is the time in seconds since the epoch;
    `required` the level the sign-in must reach (required_level()).
    """
    if isinstance(request, Invalid):
        if request.redirect_uri is None:
            return ErrorPage(request.error, request.description or "The request cannot be completed.")
        return Refuse(request.error, request.description, request.redirect_uri, request.state)

    def refuse(error: str, description: str) -> Refuse:
        return Refuse(error, description, request.redirect_uri, request.state)

    prompt = set((params.get("prompt") or "").split())
    silent = is_silent(params)
    if silent and len(prompt) > 1:
        return refuse("invalid_request", "prompt=none cannot be combined with other prompt values.")
    if prompt - set(PROMPTS):
        unknown = " ".join(sorted(prompt - set(PROMPTS)))
        return refuse("invalid_request", f"Unsupported prompt value: {unknown}.")
    max_age = None
    if params.get("max_age") not in (None, ""):
        try:
            max_age = int(params["max_age"])
        except ValueError:
            max_age = -1
        if max_age < 0:
            return refuse("invalid_request", "max_age must be a non-negative number of seconds.")
    login_hint = (params.get("login_hint") or "")[:254]
    if hint_subject is INVALID_HINT:
        return refuse("invalid_request", "id_token_hint is not an ID token issued by this server.")
    if required is None:
        return refuse(
            "access_denied",
            "This application requires multi-factor sign-in, which this service has turned off.",
        )

    # 1. Who is signing in, and is that sign-in recent and the right person's?
    if person is None:
        return (
            refuse("login_required", "The user is not signed in.")
            if silent
            else SignIn(login_hint, again=False)
        )
    too_old = not person.fresh and max_age is not None and now - person.auth_time > max_age
    wrong_person = hint_subject is not None and hint_subject != person.subject
    if silent and (too_old or wrong_person):
        return refuse("login_required", "The user must sign in again.")
    if silent and login_hint and login_hint.lower() != person.email:
        return refuse("interaction_required", "Another account is signed in; the user must choose.")
    if (prompt & SIGN_IN_PROMPTS and not person.fresh) or too_old or wrong_person:
        return SignIn(login_hint, again=True)
    if person.level < required:
        if silent:
            return refuse("interaction_required", "The request needs multi-factor authentication.")
        return StepUp()

    # 2. Has the person allowed this client these scopes?
    if "consent" not in prompt and request.consented:
        return IssueCode(request.scopes)
    if silent:
        return refuse("consent_required", "The user has not consented to this request.")
    return AskConsent(request.scopes)
