"""The login and consent provider flow of Ory Hydra v2: an authorization request handed to the
deployment's own login and consent app (CIAM_LOGIN_URL, CIAM_CONSENT_URL), step by step.

1. /oauth2/auth sends the browser to the login app with a login challenge (`start_login`).
2. The app reads the request (`login_request`) and accepts or rejects it (`login_accept`,
   `login_reject`); the answer's `redirect_to` brings the browser back to /oauth2/auth with a
   login verifier, which `login_verified` redeems once.
3. The same for consent (`start_consent`, `consent_request`, `consent_accept`,
   `consent_reject`, `consent_verified`); then /oauth2/auth issues the code.
4. A device flow starts with the verification app asking for the user code (`start_device`,
   `device_accept`, `device_verified`), then continues with login and consent as above.
5. RP-initiated logout goes to the logout app with a logout challenge (`start_logout`); its
   accept brings the browser back with a verifier (`logout_decide`, `logout_verified`).

Challenges and verifiers are 256-bit random values, stored as digests, single use, and bound to
the browser that started the flow (a secret in its session). A challenge already handled, or
expired, answers 410 with the original request URL (`Gone`), as Hydra does; an unknown one is
`NotFound`. The request was validated before the flow started, and is kept as it
was: the verifier's request must be that very request.
"""

import hmac
import json
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from ciam.accounts import throttle
from ciam.accounts.models import FailedAttempt
from ciam.lib.crypto import token_checksum
from ciam.oauth.client_lookup import get_client
from ciam.oauth.device import pending_grant_for_user_code
from ciam.oauth.models import AuthorizationFlow, LogoutFlow

MAX_WRONG_CODES = 10

FLOW_LIFESPAN = timedelta(minutes=30)
SESSION_KEY = "ciam_provider_flows"
_MAX_BOUND = 16
VERIFIER_PARAMETERS = ("login_verifier", "consent_verifier", "device_verifier")


class NotFound(Exception):
    """No live flow has this challenge."""


class Gone(Exception):
    """The challenge was already handled (HTTP 410): the browser should start again here."""

    def __init__(self, redirect_to: str):
        super().__init__("The request was already handled.")
        self.redirect_to = redirect_to


def _random() -> str:
    return secrets.token_urlsafe(32)


def request_url(flow: AuthorizationFlow) -> str:
    return settings.CIAM_ISSUER + flow.request_path


def _bind(request: HttpRequest, flow_id) -> str:
    """A secret for this browser and flow, kept in its session; its digest goes on the flow."""
    secret = _random()
    bound = dict(list(request.session.get(SESSION_KEY, {}).items())[-(_MAX_BOUND - 1) :])
    bound[str(flow_id)] = secret
    request.session[SESSION_KEY] = bound
    return token_checksum(secret)


def _opened(request: HttpRequest, flow: AuthorizationFlow | LogoutFlow, challenge: str) -> str:
    """Save a new flow, bound to this browser; its challenge."""
    flow.browser = _bind(request, flow.pk)
    flow.save()
    return challenge


def _is_bound(request: HttpRequest, flow: AuthorizationFlow | LogoutFlow) -> bool:
    secret = request.session.get(SESSION_KEY, {}).get(str(flow.pk))
    return bool(secret) and hmac.compare_digest(token_checksum(secret), flow.browser)


def without_verifiers(path: str) -> tuple[str, list[tuple[str, str]]]:
    """The request's path and its parameters, without the verifiers this flow added."""
    parts = urlsplit(path)
    params = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in VERIFIER_PARAMETERS
    ]
    return parts.path, params


def _with(flow: AuthorizationFlow, name: str, value: str) -> str:
    separator = "&" if "?" in flow.request_path else "?"
    return f"{request_url(flow)}{separator}{name}={value}"


# --- Login --------------------------------------------------------------------------------------


def start_login(
    request: HttpRequest,
    *,
    path: str,
    client,
    scopes: list[str],
    audience: list[str],
    oidc_context: dict,
    skip_subject: str,
    session_id: str,
) -> str:
    """A new flow for the validated authorization request at `path`; its login challenge."""
    challenge = _random()
    flow = AuthorizationFlow(
        client=client,
        request_path=path,
        requested_scope=scopes,
        requested_audience=audience,
        oidc_context=oidc_context,
        login_challenge=token_checksum(challenge),
        login_skip=bool(skip_subject),
        login_subject=skip_subject,
        login_session_id=session_id,
        expires_at=timezone.now() + FLOW_LIFESPAN,
    )
    return _opened(request, flow, challenge)


def _flow(field: str, challenge: Any) -> AuthorizationFlow:
    """The flow of this challenge; an expired one is Gone (410, start again), as Hydra answers."""
    if not isinstance(challenge, str) or not challenge or len(challenge) > 200:
        raise NotFound()
    flow = (
        AuthorizationFlow.objects.select_related("client")
        .filter(**{field: token_checksum(challenge)})
        .first()
    )
    if flow is None:
        raise NotFound()
    if flow.expires_at <= timezone.now():
        raise Gone(request_url(flow))
    return flow


def login_request(challenge: Any) -> AuthorizationFlow:
    flow = _flow("login_challenge", challenge)
    if flow.login_handled_at is not None:
        raise Gone(request_url(flow))
    return flow


def _string_list(value: Any, field: str, errors: dict) -> list[str]:
    """A list of strings; `null` entries (Ory's sample app sends `[null]`) are dropped."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    if not isinstance(value, list) or not all(v is None or isinstance(v, str) for v in value):
        errors[field] = ["Must be a list of strings."]
        return []
    return [v for v in value if v]


def _common(body: Any, errors: dict) -> dict:
    if not isinstance(body, dict):
        raise ValidationError({"": ["The body must be a JSON object."]})
    remember = body.get("remember", False)
    if not isinstance(remember, bool):
        errors["remember"] = ["Must be true or false."]
    remember_for = body.get("remember_for", 0)
    if isinstance(remember_for, bool) or not isinstance(remember_for, int) or remember_for < 0:
        errors["remember_for"] = ["Must be a whole number of seconds, 0 or more."]
        remember_for = 0
    context = body.get("context")
    if context is not None and len(json.dumps(context)) > 16_384:
        errors["context"] = ["At most 16 KiB of JSON."]
    return {"remember": remember is True, "remember_for": remember_for, "context": context}


@transaction.atomic
def login_accept(challenge: Any, body: Any) -> str:
    """Hydra's acceptOAuth2LoginRequest; the URL the browser goes back to."""
    flow = login_request(challenge)
    errors: dict[str, list[str]] = {}
    result = _common(body, errors)
    subject = body.get("subject")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 255:
        errors["subject"] = ["Required: the signed-in person's identifier (at most 255 characters)."]
    acr = body.get("acr") or ""
    if not isinstance(acr, str) or len(acr) > 100:
        errors["acr"] = ["Must be a string."]
    amr = _string_list(body.get("amr"), "amr", errors)
    if errors:
        raise ValidationError(errors)
    if flow.login_skip and subject == flow.login_subject:
        result["remember"] = True  # Hydra: skip forces remember
    result.update(subject=subject, acr=acr, amr=amr)
    return _handled(flow, "login", result)


@transaction.atomic
def login_reject(challenge: Any, body: Any) -> str:
    return _handled(login_request(challenge), "login", _rejection(body))


def _rejection(body: Any) -> dict:
    if not isinstance(body, dict):
        raise ValidationError({"": ["The body must be a JSON object."]})
    errors: dict[str, list[str]] = {}
    values = {}
    for field, default in (("error", "access_denied"), ("error_description", ""), ("error_hint", "")):
        value = body.get(field) or default
        if not isinstance(value, str) or len(value) > 500:
            errors[field] = ["Must be a string of at most 500 characters."]
        values[field] = value
    if errors:
        raise ValidationError(errors)
    description = " ".join(v for v in (values["error_description"], values["error_hint"]) if v)
    return {"error": values["error"], "error_description": description or "The request was denied."}


def _handled(flow: AuthorizationFlow, step: str, result: dict) -> str:
    locked = AuthorizationFlow.objects.select_for_update().get(pk=flow.pk)
    if getattr(locked, f"{step}_handled_at") is not None:
        raise Gone(request_url(locked))
    verifier = _random()
    setattr(locked, f"{step}_handled_at", timezone.now())
    setattr(locked, f"{step}_result", result)
    setattr(locked, f"{step}_verifier", token_checksum(verifier))
    locked.save()
    return _with(locked, f"{step}_verifier", verifier)


def _verified(request: HttpRequest, step: str, verifier: str, path: str) -> AuthorizationFlow | None:
    """The flow whose `step` verifier this is, redeemed (once) by the browser that started it,
    for that very request; None otherwise."""
    if not verifier or len(verifier) > 200:
        return None
    flow = (
        AuthorizationFlow.objects.select_related("client")
        .filter(**{f"{step}_verifier": token_checksum(verifier), "expires_at__gt": timezone.now()})
        .first()
    )
    if flow is None or not _is_bound(request, flow):
        return None
    if without_verifiers(path) != without_verifiers(flow.request_path):
        return None
    redeemed = AuthorizationFlow.objects.filter(pk=flow.pk, **{f"{step}_verified_at__isnull": True}).update(
        **{f"{step}_verified_at": timezone.now()}
    )
    return flow if redeemed else None


def login_verified(request: HttpRequest, verifier: str, path: str) -> AuthorizationFlow | None:
    return _verified(request, "login", verifier, path)


# --- Consent ------------------------------------------------------------------------------------


def start_consent(flow: AuthorizationFlow, *, subject: str, skip: bool, context: dict) -> str:
    challenge = _random()
    AuthorizationFlow.objects.filter(pk=flow.pk).update(
        consent_challenge=token_checksum(challenge),
        consent_subject=subject,
        consent_skip=skip,
        consent_context=context,
        expires_at=timezone.now() + FLOW_LIFESPAN,
    )
    return challenge


def consent_request(challenge: Any) -> AuthorizationFlow:
    flow = _flow("consent_challenge", challenge)
    if flow.consent_handled_at is not None:
        raise Gone(request_url(flow))
    return flow


@transaction.atomic
def consent_accept(challenge: Any, body: Any) -> tuple[AuthorizationFlow, str]:
    """Hydra's acceptOAuth2ConsentRequest: (the flow, the URL the browser goes back to)."""
    flow = consent_request(challenge)
    errors: dict[str, list[str]] = {}
    result = _common(body, errors)
    granted = _string_list(body.get("grant_scope"), "grant_scope", errors)
    audience = _string_list(body.get("grant_access_token_audience"), "grant_access_token_audience", errors)
    session = body.get("session") or {}
    if not isinstance(session, dict):
        errors["session"] = ["Must be an object with access_token and id_token objects."]
        session = {}
    claims = {}
    for part in ("access_token", "id_token"):
        value = session.get(part) or {}
        if not isinstance(value, dict):
            errors[f"session.{part}"] = ["Must be a JSON object of claims."]
        elif len(json.dumps(value)) > 16_384:
            errors[f"session.{part}"] = ["At most 16 KiB of JSON."]
        else:
            claims[part] = value
    not_requested = sorted(set(granted) - set(flow.requested_scope))
    if not_requested:
        errors["grant_scope"] = [f"Not requested by the client: {' '.join(not_requested)}."]
    not_allowed = sorted(set(audience) - set(flow.client.audience if flow.client else []))
    if not_allowed:
        errors["grant_access_token_audience"] = [
            f"Not an audience of this client (its registered `audience`): {' '.join(not_allowed)}."
        ]
    if errors:
        raise ValidationError(errors)
    result.update(
        grant_scope=[s for s in flow.requested_scope if s in granted],
        grant_access_token_audience=audience,
        session=claims,
    )
    return flow, _handled(flow, "consent", result)


@transaction.atomic
def consent_reject(challenge: Any, body: Any) -> str:
    return _handled(consent_request(challenge), "consent", _rejection(body))


def consent_verified(request: HttpRequest, verifier: str, path: str) -> AuthorizationFlow | None:
    return _verified(request, "consent", verifier, path)


# --- Logout -------------------------------------------------------------------------------------


def start_logout(
    request: HttpRequest,
    *,
    path: str,
    client,
    subject: str,
    session_id: str,
    post_logout_redirect_uri: str,
    state: str,
) -> str:
    """A logout flow for a validated RP-initiated logout request; its challenge."""
    challenge = _random()
    flow = LogoutFlow(
        client=client,
        request_path=path,
        subject=subject,
        session_id=session_id,
        post_logout_redirect_uri=post_logout_redirect_uri,
        state=state,
        challenge=token_checksum(challenge),
        expires_at=timezone.now() + FLOW_LIFESPAN,
    )
    return _opened(request, flow, challenge)


def logout_request(challenge: Any) -> LogoutFlow:
    if not isinstance(challenge, str) or not challenge or len(challenge) > 200:
        raise NotFound()
    flow = LogoutFlow.objects.select_related("client").filter(challenge=token_checksum(challenge)).first()
    if flow is None:
        raise NotFound()
    if flow.handled_at is not None or flow.expires_at <= timezone.now():
        raise Gone(settings.CIAM_ISSUER + flow.request_path)
    return flow


@transaction.atomic
def logout_decide(challenge: Any, *, accept: bool) -> str | None:
    """Hydra's accept (the URL the browser goes back to) or reject (None) of a logout request."""
    flow = logout_request(challenge)
    locked = LogoutFlow.objects.select_for_update().get(pk=flow.pk)
    if locked.handled_at is not None:
        raise Gone(settings.CIAM_ISSUER + locked.request_path)
    locked.handled_at, locked.accepted = timezone.now(), accept
    verifier = _random() if accept else None
    locked.verifier = token_checksum(verifier) if verifier else None
    locked.save()
    if verifier is None:
        return None
    return f"{settings.CIAM_ISSUER}{urlsplit(locked.request_path).path}?logout_verifier={verifier}"


def logout_verified(request: HttpRequest, verifier: str) -> LogoutFlow | None:
    """The accepted logout flow of this verifier, redeemed once by the browser that started it."""
    if not verifier or len(verifier) > 200:
        return None
    flow = (
        LogoutFlow.objects.select_related("client")
        .filter(verifier=token_checksum(verifier), accepted=True, expires_at__gt=timezone.now())
        .first()
    )
    if flow is None or not _is_bound(request, flow):
        return None
    redeemed = LogoutFlow.objects.filter(pk=flow.pk, verified_at__isnull=True).update(
        verified_at=timezone.now()
    )
    return flow if redeemed else None


# --- Device verification (RFC 8628 through the apps) ------------------------------------------


def start_device(request: HttpRequest, *, path: str) -> str:
    """A device flow: the verification app asks the person for the code; its challenge."""
    challenge = _random()
    flow = AuthorizationFlow(
        request_path=path,
        device_challenge=token_checksum(challenge),
        expires_at=timezone.now() + FLOW_LIFESPAN,
    )
    return _opened(request, flow, challenge)


@transaction.atomic
def device_accept(challenge: Any, body: Any, *, ip_address: str | None) -> str:
    """Hydra's acceptUserCodeRequest: the person's user code, checked (wrong ones are throttled
    per flow, as on the built-in page); the URL the browser goes back to."""
    flow = _flow("device_challenge", challenge)
    if flow.device_handled_at is not None:
        raise Gone(request_url(flow))
    if not isinstance(body, dict) or not isinstance(body.get("user_code"), str):
        raise ValidationError({"user_code": ["Required: the code the device shows."]})
    key = f"device-flow:{flow.pk}"
    if throttle.retry_after([FailedAttempt.Kind.DEVICE_CODE], limit=MAX_WRONG_CODES, window=600, key=key):
        raise ValidationError({"user_code": ["Too many wrong codes for this request; start again."]})
    grant = pending_grant_for_user_code(body["user_code"])
    client = get_client(grant.client_id) if grant else None
    if grant is None or client is None or not client.is_active:
        throttle.record_failure(FailedAttempt.Kind.DEVICE_CODE, key=key, ip_address=ip_address)
        raise ValidationError({"user_code": ["That code is not valid or has expired."]})
    AuthorizationFlow.objects.filter(pk=flow.pk).update(
        device_grant=grant, client=client, requested_scope=grant.scope.split()
    )
    flow.refresh_from_db()
    return _handled(flow, "device", {"user_code_accepted": True})


def device_verified(request: HttpRequest, verifier: str, path: str) -> AuthorizationFlow | None:
    return _verified(request, "device", verifier, path)


def continue_to_login(
    request: HttpRequest, flow: AuthorizationFlow, *, skip_subject: str, session_id: str
) -> str:
    """The login step of a flow already started (a device flow): its login challenge."""
    challenge = _random()
    AuthorizationFlow.objects.filter(pk=flow.pk).update(
        login_challenge=token_checksum(challenge),
        login_skip=bool(skip_subject),
        login_subject=skip_subject,
        login_session_id=session_id,
        expires_at=timezone.now() + FLOW_LIFESPAN,
    )
    return challenge


# --- This server's own consent page (the same flow, another kind of UI) ----------------------


def park_consent(
    request: HttpRequest,
    *,
    client,
    path: str,
    scopes: list[str],
    credentials: dict,
    flow: AuthorizationFlow | None = None,
) -> str:
    """The built-in consent page's step: the validated request, waiting for the person's answer
    in this browser; its consent challenge (the page carries nothing else). `flow`: the flow
    whose login step the sign-in page just answered (the same flow goes on), else a new one."""
    challenge = _random()
    if flow is not None and _is_bound(request, flow):
        AuthorizationFlow.objects.filter(pk=flow.pk).update(
            requested_scope=list(scopes),
            credentials=credentials,
            consent_challenge=token_checksum(challenge),
            consent_subject=getattr(request.user, "oidc_subject", ""),
            expires_at=timezone.now() + FLOW_LIFESPAN,
        )
        return challenge
    flow = AuthorizationFlow(
        client=client,
        request_path=path,
        requested_scope=list(scopes),
        credentials=credentials,
        consent_challenge=token_checksum(challenge),
        consent_subject=getattr(request.user, "oidc_subject", ""),
        expires_at=timezone.now() + FLOW_LIFESPAN,
    )
    return _opened(request, flow, challenge)


def parked_consent(request: HttpRequest, challenge: Any) -> AuthorizationFlow | None:
    """The waiting flow of this consent challenge, if this browser started it and it is open."""
    try:
        flow = consent_request(challenge)
    except (NotFound, Gone):
        return None
    return flow if _is_bound(request, flow) and flow.consent_result is None and flow.credentials else None


def close_consent(flow: AuthorizationFlow) -> bool:
    """Mark the page's consent answered (once: False if it already was)."""
    return bool(
        AuthorizationFlow.objects.filter(pk=flow.pk, consent_handled_at__isnull=True).update(
            consent_handled_at=timezone.now()
        )
    )


# --- This server's own sign-in page (the same flow's login step, answered by the page) --------


def own_login(request: HttpRequest, challenge: Any) -> AuthorizationFlow | None:
    """The open login step of this challenge, if this browser started it (the sign-in page)."""
    try:
        flow = login_request(challenge)
    except (NotFound, Gone):
        return None
    return flow if _is_bound(request, flow) else None


def own_login_done(flow: AuthorizationFlow, *, subject: str, remember: bool) -> bool:
    """The sign-in page's answer: this person signed in (once: False if already answered)."""
    return bool(
        AuthorizationFlow.objects.filter(pk=flow.pk, login_handled_at__isnull=True).update(
            login_handled_at=timezone.now(),
            login_result={"subject": subject, "remember": remember, "page": True},
        )
    )
