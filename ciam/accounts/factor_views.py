"""The pages of second factors: the second step of a sign-in (/login/factor), signing in with a
passkey alone (/login/passkey), the person's sign-in methods (/account/security), and the
console's view of a person's factors. The rules are ciam.accounts.factors'.

A passkey ceremony has two requests: the browser fetches its options (/passkeys/options, which
keeps their challenge in the session, once), then posts the authenticator's answer in a form.
Every page but a passkey's works without JavaScript.
"""

import base64
import json
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from ciam.accounts import factors, throttle
from ciam.accounts.authn import ACR_MFA, AuthenticatedRequest, auth_context, mark_signed_in, mark_stepped_up
from ciam.accounts.factors import FactorError
from ciam.accounts.forms import LoginForm, PasskeyForm, RecoveryCodeForm, TotpCodeForm
from ciam.accounts.models import User
from ciam.accounts.services import login_success_record
from ciam.accounts.views import (
    FACTOR_RETURN,
    PENDING_FACTOR,
    RECENT_SIGN_IN,
    recent_sign_in,
    resumes,
    signed_in,
    stale_sign_in,
)
from ciam.audit.services import audit_record
from ciam.console.access import staff_required
from ciam.console.flash import flash_secret, pop_secret
from ciam.lib.clientip import client_ip
from ciam.lib.redirects import safe_next
from ciam.oauth import provider

# A ceremony's challenge, kept in the session between its options and its answer.
_CEREMONY = "ciam_webauthn"
_PURPOSES = ("sign-in", "second", "register")


def _ceremony_start(request: HttpRequest, purpose: str, challenge: bytes) -> None:
    request.session[_CEREMONY] = {
        "purpose": purpose,
        "challenge": base64.urlsafe_b64encode(challenge).decode(),
        "at": int(time.time()),
    }


def _ceremony_end(request: HttpRequest, purpose: str) -> bytes:
    """The challenge of this browser's open ceremony for `purpose` (spent now), or b"" (none: an
    answer to it can only be refused)."""
    ceremony = request.session.pop(_CEREMONY, None)
    if not isinstance(ceremony, dict) or ceremony.get("purpose") != purpose:
        return b""
    if time.time() - int(ceremony.get("at") or 0) > factors.CEREMONY_TIMEOUT_MS / 1000:
        return b""
    return base64.urlsafe_b64decode(str(ceremony.get("challenge") or ""))


def _json_error(status: int, error: str, description: str) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=status)


# --- Who the second step is for ------------------------------------------------------------------


def _pending(request: HttpRequest) -> tuple[User | None, dict | None]:
    """The person whose password was right a moment ago, with what their sign-in resumes; else
    the signed-in person (a step-up: no resume), else nobody."""
    pending = request.session.get(PENDING_FACTOR)
    if isinstance(pending, dict) and time.time() - int(pending.get("at") or 0) <= RECENT_SIGN_IN:
        try:
            user_id = uuid.UUID(str(pending.get("user")))
        except ValueError:
            user_id = None
        user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
        if user is not None and not user.is_locked():
            return user, pending
    if request.user.is_authenticated:
        return request.user, None
    return None, None


def _resume(request: HttpRequest, pending: dict | None):
    """What the second step resumes: (flow, its request) or (None, a safe next), as the sign-in
    page's resumes(); (False, "") for a flow this browser can no longer answer."""
    if pending is None:
        return resumes(request)
    challenge = pending.get("login_challenge") or ""
    if challenge:
        flow = provider.own_login(request, challenge)
        return (False, "") if flow is None else (flow, flow.request_path)
    return None, safe_next(pending.get("next"), request)


def _passed(request: HttpRequest, user: User, pending: dict | None, flow, next_url: str, amr: list[str]):
    """The second factor is right: sign in (or step up), then resume."""
    throttle.clear(factors.SECOND_FACTOR, key=str(user.pk))
    ip = client_ip(request)
    if pending is not None:
        request.session.pop(PENDING_FACTOR, None)
        methods = ["pwd", *amr, "mfa"]
        mark_signed_in(request, user, remember=bool(pending.get("remember")), amr=methods, acr=ACR_MFA)
        login_success_record(user=user, ip_address=ip, amr=methods)
        remember = bool(pending.get("remember"))
    else:
        mark_stepped_up(request, amr)
        audit_record(
            event="mfa.stepped_up", actor=user, subject=user.email, ip_address=ip, detail={"amr": amr}
        )
        remember = bool(auth_context(request).get("remember"))
    return signed_in(request, user, flow, next_url, remember=remember)


def _to_setup(request: HttpRequest, flow, next_url: str) -> HttpResponse:
    """A signed-in person asked for a second factor they do not have: set one up, then back."""
    request.session[FACTOR_RETURN] = {
        "login_challenge": (request.GET.get("login_challenge") or request.POST.get("login_challenge") or "")
        if flow
        else "",
        "next": next_url if not flow else "",
        "remember": bool(auth_context(request).get("remember")),
    }
    return redirect(f"{reverse('accounts:account-security')}?setup=1")


def _none(request: HttpRequest, pending: dict | None, flow, next_url: str) -> HttpResponse:
    """The person has no second factor: removed since their password (which is then all there
    is: start again), or never set up (set one up, then back)."""
    if pending is not None:
        request.session.pop(PENDING_FACTOR, None)
        return stale_sign_in(request)
    return _to_setup(request, flow, next_url)


def _factor_page(
    request, user, *, status=200, totp_form=None, code_form=None, problem="", use="", found=None
):
    found = found or factors.factors_of(user)
    context = {
        "person": user,
        "has_totp": found.totp is not None,
        "has_passkeys": bool(found.passkeys),
        "has_codes": bool(found.recovery_codes_left),
        "totp_form": totp_form or TotpCodeForm(),
        "code_form": code_form or RecoveryCodeForm(),
        "passkey_form": PasskeyForm(),
        "problem": problem,
        "use": use or ("totp" if found.totp is not None else "passkey"),
        "login_challenge": request.GET.get("login_challenge") or request.POST.get("login_challenge") or "",
        "next": request.GET.get("next") or request.POST.get("next") or "",
    }
    return render(request, "accounts/login_factor.html", context, status=status)


def _locked_out(request: HttpRequest, user: User, wait: int) -> HttpResponse:
    minutes = max(1, round(wait / 60))
    response = _factor_page(
        request,
        user,
        status=429,
        problem=f"Too many wrong codes. Wait about {minutes} minute{'s' if minutes != 1 else ''} "
        "and try again.",
    )
    response["Retry-After"] = str(wait)
    return response


def _passkey_answer(request: HttpRequest, purpose: str, user: User | None) -> factors.PasskeyUse:
    """The posted passkey answer, checked against this browser's open ceremony for `purpose`
    (FactorError says what is wrong)."""
    form = PasskeyForm(request.POST)
    if not form.is_valid():
        raise FactorError("The passkey's answer is missing. Try again.")
    return factors.passkey_check(
        credential=form.cleaned_data["credential"],
        challenge=_ceremony_end(request, purpose),
        user=user,
        ip_address=client_ip(request),
    )


@sensitive_post_parameters("code", "recovery_code", "credential")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_factor_view(request: HttpRequest) -> HttpResponse:
    """/login/factor: the second step of a sign-in (after the password), or of a step-up asked
    for by an application (acr_values, a client that requires multi-factor)."""
    user, pending = _pending(request)
    if user is None:
        query = request.GET.urlencode()
        return redirect(f"{reverse('accounts:login')}{'?' + query if query else ''}")
    flow, next_url = _resume(request, pending)
    if flow is False:
        return stale_sign_in(request)
    if not factors.enabled():
        return (
            signed_in(request, user, flow, next_url, remember=False)
            if pending is None
            else stale_sign_in(request)
        )
    if request.method == "GET":
        found = factors.factors_of(user)
        return (
            _factor_page(request, user, found=found) if found.any else _none(request, pending, flow, next_url)
        )
    if not factors.has_second_factor(user):
        return _none(request, pending, flow, next_url)

    wait = factors.wait_before_check(user)
    if wait:
        return _locked_out(request, user, wait)
    ip = client_ip(request)
    method = request.POST.get("method", "")
    if method == "totp":
        form = TotpCodeForm(request.POST)
        if not form.is_valid():
            return _factor_page(request, user, status=400, totp_form=form)
        if factors.totp_check(user=user, code=form.cleaned_data["code"]):
            return _passed(request, user, pending, flow, next_url, ["otp"])
        wait = factors.refused(user, method="totp", reason="wrong_code", ip_address=ip)
        if wait:
            return _locked_out(request, user, wait)
        form.add_error(
            "code", "That code is not right, or was already used. Wait for the next one and try again."
        )
        return _factor_page(request, user, status=400, totp_form=form)
    if method == "recovery":
        code_form = RecoveryCodeForm(request.POST)
        if not code_form.is_valid():
            return _factor_page(request, user, status=400, code_form=code_form, use="recovery")
        if factors.recovery_code_use(user=user, code=code_form.cleaned_data["recovery_code"], ip_address=ip):
            return _passed(request, user, pending, flow, next_url, ["otp"])
        wait = factors.refused(user, method="recovery_code", reason="wrong_code", ip_address=ip)
        if wait:
            return _locked_out(request, user, wait)
        code_form.add_error("recovery_code", "That recovery code is not right, or was already used.")
        return _factor_page(request, user, status=400, code_form=code_form, use="recovery")
    if method == "passkey":
        try:
            use = _passkey_answer(request, "second", user)
        except FactorError as exc:
            return _factor_page(request, user, status=400, problem=str(exc), use="passkey")
        return _passed(request, user, pending, flow, next_url, use.amr)
    return _factor_page(request, user, status=400, problem="Choose how to confirm it is you.")


@sensitive_post_parameters("credential")
@csrf_protect
@never_cache
@require_POST
def login_passkey_view(request: HttpRequest) -> HttpResponse:
    """/login/passkey: sign in with a passkey alone (the button, or the browser's autofill)."""
    flow, next_url = resumes(request)
    if flow is False:
        return stale_sign_in(request)
    try:
        if not factors.enabled():
            raise FactorError("Passkeys are turned off here. Sign in with your password.")
        use = _passkey_answer(request, "sign-in", None)
        user = use.passkey.user
        if not user.is_active or user.is_locked():
            raise FactorError(LoginForm.error_messages["locked"])
    except FactorError as exc:
        login = LoginForm()
        login.cleaned_data = {}
        login.add_error(None, str(exc))
        context = {
            "form": login,
            "next": next_url if flow is None else "",
            "login_challenge": request.POST.get("login_challenge", "")[:200] if flow is not None else "",
            "client": flow.client if flow is not None else None,
            "registration_enabled": settings.CIAM_REGISTRATION_ENABLED,
            "passkeys": factors.enabled(),
        }
        return render(request, "accounts/login.html", context, status=400)
    remember = request.POST.get("remember") == "on"
    methods = [*use.amr, "mfa"]
    mark_signed_in(request, user, remember=remember, amr=methods, acr=ACR_MFA)
    login_success_record(user=user, ip_address=client_ip(request), amr=methods)
    throttle.clear(factors.SECOND_FACTOR, key=str(user.pk))
    return signed_in(request, user, flow, next_url, remember=remember)


@csrf_protect
@never_cache
@require_POST
def passkey_options_view(request: HttpRequest) -> JsonResponse:
    """POST /passkeys/options (purpose: sign-in, second or register): a ceremony's options."""
    purpose = request.POST.get("purpose", "")
    if purpose not in _PURPOSES:
        return _json_error(400, "invalid_request", "purpose must be sign-in, second or register.")
    if not factors.enabled():
        return _json_error(404, "not_found", "Passkeys are turned off on this service.")
    if purpose == "sign-in":
        options, challenge = factors.authentication_options(None)
    elif purpose == "second":
        user, _ = _pending(request)
        if user is None:
            return _json_error(403, "access_denied", "Sign in with your password first.")
        options, challenge = factors.authentication_options(user)
    else:
        if not request.user.is_authenticated:
            return _json_error(403, "access_denied", "Sign in first.")
        if not recent_sign_in(request):
            return _json_error(403, "reauthentication_required", "Confirm it is you: sign in again first.")
        options, challenge = factors.registration_options(request.user)
    _ceremony_start(request, purpose, challenge)
    return JsonResponse(json.loads(options))


# --- The person's sign-in methods (/account/security) ------------------------------------------


def _confirm_first(request: HttpRequest) -> HttpResponse:
    """A change of sign-in methods needs a sign-in of the last RECENT_SIGN_IN seconds."""
    messages.info(request, "For your security, confirm it is you before you change how you sign in.")
    return redirect(
        f"{reverse('accounts:login')}?{urlencode({'next': reverse('accounts:account-security')})}"
    )


def _security_page(request: AuthenticatedRequest, *, status: int = 200, **extra) -> HttpResponse:
    user = request.user
    found = factors.factors_of(user)
    codes = pop_secret(request, "recovery-codes")
    context = {
        "account_section": "security",
        "factors": found,
        "enabled": factors.enabled(),
        "required": settings.CIAM_MFA == "required",
        "setup": request.GET.get("setup") == "1" or FACTOR_RETURN in request.session,
        "returning": FACTOR_RETURN in request.session,
        "recent": recent_sign_in(request),
        "new_codes": json.loads(codes) if codes else None,
        "passkey_form": PasskeyForm(),
        "recently": timezone.now() - timedelta(minutes=1),
        "site_name": settings.CIAM_SITE_NAME,
        **extra,
    }
    return render(request, "accounts/account_security.html", context, status=status)


def _added(request: AuthenticatedRequest, codes: list[str], amr: list[str], what: str) -> HttpResponse:
    """A factor was just set up, and proved: the session is multi-factor now; new recovery codes
    are shown once (on the next page)."""
    mark_stepped_up(request, amr)
    if codes:
        flash_secret(request, "recovery-codes", json.dumps(codes))
    messages.success(request, what)
    if FACTOR_RETURN in request.session and not codes:
        return _continue(request)
    return redirect("accounts:account-security")


def _continue(request: AuthenticatedRequest) -> HttpResponse:
    """Back to the sign-in that sent the person to set up a second factor."""
    resume = request.session.pop(FACTOR_RETURN, None) or {}
    challenge = resume.get("login_challenge") or ""
    if challenge:
        flow = provider.own_login(request, challenge)
        if flow is None:
            return stale_sign_in(request)
        return signed_in(
            request, request.user, flow, flow.request_path, remember=bool(resume.get("remember"))
        )
    next_url = safe_next(resume.get("next"), request)
    return signed_in(request, request.user, None, next_url, remember=bool(resume.get("remember")))


@login_required
@sensitive_post_parameters("credential")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def account_security_view(request: AuthenticatedRequest) -> HttpResponse:
    """The person's sign-in methods: authenticator app, passkeys, recovery codes."""
    if request.method == "GET":
        return _security_page(request)
    user = request.user
    section = request.POST.get("section", "")
    if section == "continue" and FACTOR_RETURN in request.session:
        if not factors.has_second_factor(user):
            return _security_page(
                request, status=400, problem="Set up an authenticator app or a passkey first."
            )
        return _continue(request)
    if not factors.enabled():
        return _security_page(request, status=400, problem="Second factors are turned off on this service.")
    if not recent_sign_in(request):
        return _confirm_first(request)
    ip = client_ip(request)
    if section == "passkey-add":
        form = PasskeyForm(request.POST)
        try:
            if not form.is_valid():
                raise FactorError("The passkey's answer is missing. Try again.")
            passkey, codes = factors.passkey_register(
                user=user,
                credential=form.cleaned_data["credential"],
                challenge=_ceremony_end(request, "register"),
                name=form.cleaned_data["name"],
                ip_address=ip,
            )
        except FactorError as exc:
            return _security_page(request, status=400, problem=str(exc))
        amr = factors.PasskeyUse(passkey=passkey, user_verified=True).amr
        return _added(request, codes, amr, f"Passkey “{passkey.name}” added.")
    if section == "passkey-rename":
        try:
            factors.passkey_rename(
                user=user, passkey_id=request.POST.get("passkey"), name=request.POST.get("name", "")
            )
        except (ValidationError, ValueError) as exc:
            message = " ".join(exc.messages) if isinstance(exc, ValidationError) else "Unknown passkey."
            return _security_page(request, status=400, problem=message)
        messages.success(request, "Passkey renamed.")
    elif section == "passkey-remove":
        try:
            removed = factors.passkey_remove(
                user=user, passkey_id=request.POST.get("passkey"), actor=user, ip_address=ip
            )
        except (ValidationError, ValueError):
            removed = False
        messages.success(request, "Passkey removed." if removed else "That passkey was already removed.")
    elif section == "totp-remove":
        factors.totp_remove(user=user, actor=user, ip_address=ip)
        messages.success(request, "Authenticator app removed.")
    elif section == "codes-renew":
        try:
            codes = factors.recovery_codes_renew(user=user, ip_address=ip)
        except ValidationError as exc:
            return _security_page(request, status=400, problem=" ".join(exc.messages))
        flash_secret(request, "recovery-codes", json.dumps(codes))
    else:
        return _security_page(request, status=400, problem="Unknown action.")
    return redirect("accounts:account-security")


@login_required
@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def account_totp_view(request: AuthenticatedRequest) -> HttpResponse:
    """Set up an authenticator app: its QR code and key, confirmed by a first code."""
    if not factors.enabled():
        return redirect("accounts:account-security")
    if not recent_sign_in(request):
        return _confirm_first(request)
    user = request.user
    try:
        setup = factors.totp_setup(user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("accounts:account-security")
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST":
        if wait := factors.wait_before_check(user):
            response = render(
                request,
                "accounts/account_totp.html",
                {"setup": setup, "form": form, "account_section": "security", "throttled": True},
                status=429,
            )
            response["Retry-After"] = str(wait)
            return response
        if form.is_valid():
            codes = factors.totp_confirm(
                user=user, code=form.cleaned_data["code"], ip_address=client_ip(request)
            )
            if codes is not None:
                return _added(request, codes, ["otp"], "Your authenticator app is set up.")
            form.add_error(
                "code",
                "That code is not right. Check the time on your phone, and type the code it shows now.",
            )
    return render(
        request,
        "accounts/account_totp.html",
        {"setup": setup, "form": form, "account_section": "security"},
        status=400 if form.is_bound else 200,
    )


# --- The console: a person's factors ----------------------------------------------------------------


@staff_required
@require_POST
def user_factors_view(request: HttpRequest, user_id) -> HttpResponse:
    """Reset (remove) a person's factors of one type, or all of them (audited; they are told)."""
    user = get_object_or_404(User, pk=user_id)
    kind = request.POST.get("type", "")
    kinds = factors.CREDENTIAL_TYPES if kind == "all" else (kind,)
    if any(k not in factors.CREDENTIAL_TYPES for k in kinds):
        messages.error(request, "Unknown kind of factor.")
    else:
        removed = sum(factors.credentials_reset(user=user, kind=k, actor=request.user) for k in kinds)
        messages.success(
            request,
            f"Reset: {user.email} now signs in with the password alone until they set up a factor again."
            if removed
            else "Nothing to reset.",
        )
    return redirect(f"{reverse('accounts:user-detail', args=[user.pk])}#factors")
