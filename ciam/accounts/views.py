"""The person's sign-in pages (/login, /registration) and the console's pages for identities
(list, create, detail, lock, password, deactivate, delete).

Every page works with JavaScript off; every form is CSRF-protected; none is cached.
"""

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from ua_parser import parse as ua_parse

from ciam.accounts import factors, selfservice
from ciam.accounts.authn import AuthenticatedRequest, auth_context, mark_signed_in
from ciam.accounts.forms import (
    ChangePasswordForm,
    DeleteAccountForm,
    DeleteUserForm,
    EmailAddressForm,
    EmailCodeForm,
    LoginForm,
    NewPasswordForm,
    ProfileForm,
    RegistrationForm,
    SetPasswordForm,
    UserCreateForm,
)
from ciam.accounts.models import AccountLock, EmailCode, User
from ciam.accounts.services import (
    address_throttle,
    login_failure_record,
    login_success_record,
    normalize_email,
    registration_refused_record,
    sessions_end,
    sessions_end_these,
    sign_in_check,
    user_create,
    user_delete,
    user_lock,
    user_register,
    user_set_active,
    user_set_password,
    user_unlock,
    user_update,
)
from ciam.accounts.sessions import Session
from ciam.accounts.throttle import Throttle
from ciam.audit.models import AuditEvent
from ciam.audit.services import audit_record
from ciam.console.access import staff_required
from ciam.console.flash import flash_secret, pop_secret
from ciam.console.paging import page_of
from ciam.lib.clientip import client_ip
from ciam.lib.redirects import safe_next
from ciam.oauth import provider
from ciam.oauth.authorize import required_level
from ciam.oauth.client_lookup import get_client
from ciam.oauth.flows import error_page
from ciam.oauth.models import AccessToken
from ciam.oauth.views.authorize import complete_after_sign_in
from consent.selectors import connected_apps

# --- The person's sign-in pages ----------------------------------------------------------------


def _query_param(url: str, name: str) -> str:
    return parse_qs(urlsplit(url).query).get(name, [""])[0]


def _client_for_next(next_url: str):
    """The client an authorization request in `next` is for, to show its name and logo: read
    only if a page is rendered (a successful sign-in redirects without it)."""

    def load():
        client_id = _query_param(next_url, "client_id") if next_url.startswith("/oauth2/auth?") else ""
        client = get_client(client_id[:255]) if client_id else None
        return client if client is not None and client.is_active else None

    return SimpleLazyObject(load)


def _throttled(request: HttpRequest, form, throttle: Throttle, template: str, context: dict) -> HttpResponse:
    minutes = max(1, round(throttle.retry_after / 60))
    if throttle.reason == "account":
        message = (
            f"Too many failed sign-ins for this account. It is locked for about {minutes} "
            f"minute{'s' if minutes != 1 else ''}; try again later."
        )
    else:
        message = (
            f"Too many failed attempts from your network. Wait about {minutes} "
            f"minute{'s' if minutes != 1 else ''} and try again."
        )
    if not form.is_bound:
        form.cleaned_data = {}  # nothing was checked: the form carries only this message
    form.add_error(None, message)
    response = render(request, template, {**context, "form": form}, status=429)
    response["Retry-After"] = str(throttle.retry_after)
    return response


def challenge_of(request: HttpRequest) -> str:
    return (request.POST.get("login_challenge") or request.GET.get("login_challenge") or "")[:200]


def resumes(request: HttpRequest):
    """What a sign-in here resumes: (the authorization flow of its login challenge, the flow's
    request), (None, a safe `next`), or (False, "") for a challenge this browser cannot answer
    (unknown, expired, used, or started in another browser)."""
    challenge = challenge_of(request)
    if challenge:
        flow = provider.own_login(request, challenge)
        return (False, "") if flow is None else (flow, flow.request_path)
    return None, safe_next(request.POST.get("next") or request.GET.get("next"), request)


def stale_sign_in(request: HttpRequest) -> HttpResponse:
    return error_page(
        request,
        "invalid_request",
        "This sign-in request has expired, was already used, or was started in another browser. "
        "Go back to the application and start again.",
    )


def signed_in(request: HttpRequest, user: User, flow, next_url: str, *, remember: bool) -> HttpResponse:
    """The answer to a sign-in that succeeded: the flow's login step answered (once), then the
    code or the consent page for its request (or wherever `next` pointed)."""
    if flow is not None:
        provider.own_login_done(flow, subject=user.oidc_subject, remember=remember)
    return complete_after_sign_in(request, next_url, flow) or redirect(next_url)


# A right password, with the second factor still to come: who, since when, what it resumes
# (ciam.accounts.factor_views); nobody is signed in until it comes.
PENDING_FACTOR = "ciam_pending_factor"
# What a person sent to set up a second factor in the middle of a sign-in goes back to.
FACTOR_RETURN = "ciam_factor_return"


def required_for(flow) -> int:
    """The level the sign-in for `flow` (None: no application's) must reach."""
    level = required_level(
        policy=settings.CIAM_MFA,
        client_requires=bool(flow is not None and flow.client.require_mfa),
        acr_values=" ".join(flow.oidc_context.get("acr_values") or []) if flow is not None else "",
    )
    return level or 1


def resume_query(resume: dict) -> str:
    """The query that carries a sign-in's flow (its login challenge, or its `next`) to a page."""
    if resume.get("login_challenge"):
        return urlencode({"login_challenge": resume["login_challenge"]})
    return urlencode({"next": resume.get("next") or ""})


def after_password(
    request: HttpRequest, user: User, flow, next_url: str, *, remember: bool, failures_on_record: bool = True
) -> HttpResponse:
    """The first factor is right. A person with a second factor is asked for it before anything
    is signed in; one who must have a second factor but has none is signed in and taken to set
    one up, then back; anyone else is signed in and goes on."""
    resume = {
        "login_challenge": challenge_of(request) if flow is not None else "",
        "next": next_url if flow is None else "",
        "remember": remember,
    }
    if factors.enabled() and factors.has_second_factor(user):
        request.session[PENDING_FACTOR] = {**resume, "user": str(user.pk), "at": int(time.time())}
        return redirect(f"{reverse('accounts:login-factor')}?{resume_query(resume)}")
    mark_signed_in(request, user, remember=remember)
    login_success_record(user=user, ip_address=client_ip(request), failures_on_record=failures_on_record)
    if required_for(flow) > 1:
        request.session[FACTOR_RETURN] = resume
        return redirect(f"{reverse('accounts:account-security')}?setup=1")
    return signed_in(request, user, flow, next_url, remember=remember)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    flow, next_url = resumes(request)
    if flow is False:
        return stale_sign_in(request)
    context = {
        "next": next_url if flow is None else "",
        "login_challenge": challenge_of(request) if flow is not None else "",
        "client": flow.client if flow is not None else _client_for_next(next_url),
        "registration_enabled": settings.CIAM_REGISTRATION_ENABLED,
        "passkeys": factors.enabled(),
    }
    if request.method == "GET":
        hint = request.GET.get("login_hint") or _query_param(next_url, "login_hint")
        if not hint and request.user.is_authenticated:
            hint = request.user.email  # asked to sign in again (prompt=login, max_age)
        form = LoginForm(initial={"email": hint[:254]})
        if hint:
            form.focus_password()
        return render(request, "accounts/login.html", {**context, "form": form})

    form = LoginForm(request.POST)
    if not form.is_valid():
        return render(request, "accounts/login.html", {**context, "form": form}, status=400)
    email = normalize_email(form.cleaned_data["email"])
    ip = client_ip(request)
    check = sign_in_check(email=email, ip_address=ip)
    if check.throttle is not None:
        return _throttled(request, form, check.throttle, "accounts/login.html", context)
    user = authenticate(request, username=email, password=form.cleaned_data["password"])
    if user is None:
        lock = login_failure_record(email=email, ip_address=ip)
        if lock is not None:
            return _throttled(request, form, lock, "accounts/login.html", context)
        form.add_error(None, form.error_messages["invalid_login"])
        form.focus_password()  # the e-mail is kept; the password is what to type again
        return render(request, "accounts/login.html", {**context, "form": form}, status=400)
    if user.is_locked():
        form.add_error(None, form.error_messages["locked"])
        return render(request, "accounts/login.html", {**context, "form": form}, status=403)
    return after_password(
        request,
        user,
        flow,
        next_url,
        remember=form.cleaned_data["remember"],
        failures_on_record=check.failures_on_record,
    )


@sensitive_post_parameters("password", "password_confirm")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def registration_view(request: HttpRequest) -> HttpResponse:
    if not settings.CIAM_REGISTRATION_ENABLED:
        raise Http404("Registration is disabled.")
    flow, next_url = resumes(request)
    if flow is False:
        return stale_sign_in(request)
    context = {
        "next": next_url if flow is None else "",
        "login_challenge": challenge_of(request) if flow is not None else "",
        "client": flow.client if flow is not None else _client_for_next(next_url),
    }
    form = RegistrationForm(request.POST or None)
    if request.method == "POST":
        ip = client_ip(request)
        throttle = address_throttle(ip)
        if throttle is not None:
            form = RegistrationForm(initial={"email": request.POST.get("email", "")[:254]})
            return _throttled(request, form, throttle, "accounts/registration.html", context)
        if form.is_valid():
            email = form.cleaned_data["email"]
            if User.objects.filter(email=email).exists():
                # The same page as for a new account; the address's owner hears of the attempt.
                registration_refused_record(email=email, ip_address=ip)
                make_password(form.cleaned_data["password"])  # the time a new account takes
                sent = selfservice.registration_taken(email=email)
            else:
                user = user_register(email=email, password=form.cleaned_data["password"], ip_address=ip)
                sent = selfservice.verification_send(user=user, ip_address=ip)
                request.session[_PENDING_KEY] = {
                    "user": str(user.pk),
                    "login_challenge": context["login_challenge"],
                    "next": context["next"],
                }
            return _check_email(request, email=email, flow=sent.flow, purpose="registration", context=context)
        return render(request, "accounts/registration.html", {**context, "form": form}, status=400)
    return render(request, "accounts/registration.html", {**context, "form": form})


# --- Verification and recovery (ciam.accounts.selfservice) ---------------------------------------

# A registration in this browser, waiting for its address to be verified: who, and what the
# sign-in resumes once it is.
_PENDING_KEY = "ciam_pending_registration"
# The recovery this browser proved it may complete (by its link or its code): the flow's id.
_RECOVERY_KEY = "ciam_recovery"


def _check_email(
    request: HttpRequest, *, email: str, flow: str, purpose: str, context: dict | None = None, form=None
) -> HttpResponse:
    """ "Check your e-mail": where the message went (whether or not it did), and its code's form."""
    form = form or EmailCodeForm(initial={"flow": flow})
    return render(
        request,
        "accounts/check_email.html",
        {**(context or {}), "email": email, "purpose": purpose, "form": form},
        status=400 if form.is_bound else 200,
    )


def _verified(request: HttpRequest, user: User) -> HttpResponse:
    """An address was just verified: the registration this browser made signs in and goes on;
    anyone else is told, and may sign in."""
    pending = request.session.pop(_PENDING_KEY, None)
    if pending and pending.get("user") == str(user.pk) and user.is_active:
        challenge = pending.get("login_challenge") or ""
        flow = provider.own_login(request, challenge) if challenge else None
        if flow is False or (challenge and flow is None):
            return stale_sign_in(request)
        next_url = flow.request_path if flow is not None else safe_next(pending.get("next"), request)
        return after_password(request, user, flow, next_url, remember=False)
    if request.user.is_authenticated and request.user.pk == user.pk:
        messages.success(request, f"Your e-mail address is verified: {user.email}.")
        return redirect("accounts:account")
    return render(
        request, "accounts/message.html", {"title": "Your e-mail address is verified", "verified": True}
    )


def wait_page(request: HttpRequest, wait: int, why: str, template: str, context: dict) -> HttpResponse | None:
    """None when `wait` is 0; else `template` saying `why` and how long to wait (429, Retry-After)."""
    if not wait:
        return None
    minutes = max(1, round(wait / 60))
    message = f"{why} Wait about {minutes} minute{'s' if minutes != 1 else ''} and try again."
    response = render(request, template, {**context, "throttled": message}, status=429)
    response["Retry-After"] = str(wait)
    return response


def _code_throttled(request: HttpRequest, template: str, context: dict) -> HttpResponse | None:
    wait = selfservice.code_throttle(client_ip(request))
    return wait_page(request, wait, "Too many wrong codes from your network.", template, context)


def _mail_throttled(request: HttpRequest, email: str, template: str, context: dict) -> HttpResponse | None:
    wait = selfservice.mail_throttle(email, client_ip(request))
    return wait_page(request, wait, "Too many messages asked for.", template, context)


def _entered_code(request: HttpRequest, purpose: str, check, done) -> HttpResponse:
    """A code typed on the "check your e-mail" page: `check(flow, code, ip_address=...)` finds
    what it opens, `done` answers it; a wrong code keeps the page, saying so (throttled per IP)."""
    form = EmailCodeForm(request.POST)
    email = request.POST.get("email", "")[:254]
    if throttled := _code_throttled(request, "accounts/check_email.html", {"form": form, "email": email}):
        return throttled
    if form.is_valid():
        found = check(
            str(form.cleaned_data["flow"]), form.cleaned_data["code"], ip_address=client_ip(request)
        )
        if found is not None:
            return done(found)
        form.add_error("code", _WRONG_CODE)
    return _check_email(request, email=email, flow="", purpose=purpose, form=form)


def _recovery_opened(request: HttpRequest, row) -> HttpResponse:
    """This browser proved it may complete the recovery `row`: on to its new password (the
    link's token, if it came by one, leaves the address bar)."""
    request.session[_RECOVERY_KEY] = str(row.pk)
    return redirect("accounts:recovery-password")


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def verification_view(request: HttpRequest) -> HttpResponse:
    """/verification: the link of a verification message, its code, or asking for a new one."""
    ip = client_ip(request)
    if request.method == "GET" and "token" in request.GET:
        user = selfservice.verify_by_link(request.GET["token"][:200], ip_address=ip)
        if user is None:
            return _spent(request, "accounts/verification.html")
        return _verified(request, user)
    if request.method == "POST" and "code" in request.POST:
        return _entered_code(
            request, "verification", selfservice.verify_by_code, lambda user: _verified(request, user)
        )
    # Signed in with an address to verify (CIAM_REQUIRE_VERIFIED_EMAIL sends people here on the
    # way to an application): the message goes to that address, and the code resumes `next`.
    person = request.user if request.user.is_authenticated and not request.user.email_verified else None
    next_url = (
        safe_next(request.POST.get("next") or request.GET.get("next"), request, default="") if person else ""
    )
    page = {"person": person, "next": next_url}
    address = EmailAddressForm(request.POST or None, initial={"email": person.email if person else ""})
    if request.method == "POST":
        if not address.is_valid():
            return render(request, "accounts/verification.html", {**page, "form": address}, status=400)
        email = address.cleaned_data["email"]
        if throttled := _mail_throttled(
            request, email, "accounts/verification.html", {**page, "form": address}
        ):
            return throttled
        sent = selfservice.verification_request(email=email, ip_address=ip)
        if person is not None and normalize_email(email) == person.email:
            request.session[_PENDING_KEY] = {"user": str(person.pk), "login_challenge": "", "next": next_url}
        return _check_email(request, email=email, flow=sent.flow, purpose="verification")
    return render(request, "accounts/verification.html", {**page, "form": address})


_SPENT_LINK = "This link has expired or was already used. Ask for a new message below."


def _spent(request: HttpRequest, template: str) -> HttpResponse:
    """A link (or a recovery) that can no longer be used: say so, and offer a new message."""
    return render(request, template, {"form": EmailAddressForm(), "problem": _SPENT_LINK}, status=400)


_WRONG_CODE = "That code is not right, or it has expired. Check the latest message, or ask for a new one."


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def recovery_view(request: HttpRequest) -> HttpResponse:
    """/recovery: "Forgot your password?", the link or the code of a recovery message."""
    ip = client_ip(request)
    if request.method == "GET" and "token" in request.GET:
        row = selfservice.recovery_by_link(request.GET["token"][:200])
        if row is None:
            return _spent(request, "accounts/recovery.html")
        return _recovery_opened(request, row)
    if request.method == "POST" and "code" in request.POST:
        return _entered_code(
            request, "recovery", selfservice.recovery_by_code, lambda row: _recovery_opened(request, row)
        )
    address = EmailAddressForm(request.POST or None, initial={"email": request.GET.get("email", "")[:254]})
    if request.method == "POST":
        if not address.is_valid():
            return render(request, "accounts/recovery.html", {"form": address}, status=400)
        email = address.cleaned_data["email"]
        if throttled := _mail_throttled(request, email, "accounts/recovery.html", {"form": address}):
            return throttled
        sent = selfservice.recovery_request(email=email, ip_address=ip)
        return _check_email(request, email=email, flow=sent.flow, purpose="recovery")
    return render(request, "accounts/recovery.html", {"form": address})


@sensitive_post_parameters("password", "password_confirm")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def recovery_password_view(request: HttpRequest) -> HttpResponse:
    """The new password of a recovery this browser opened with its link or code."""
    row = selfservice.recovery_for_flow(request.session.get(_RECOVERY_KEY, ""))
    if row is None:
        request.session.pop(_RECOVERY_KEY, None)
        return _spent(request, "accounts/recovery.html")
    form = NewPasswordForm(request.POST or None, user=row.user)
    if request.method == "POST" and form.is_valid():
        user = selfservice.recovery_complete(
            row=row, password=form.cleaned_data["password"], ip_address=client_ip(request)
        )
        request.session.pop(_RECOVERY_KEY, None)
        if user is None:
            return _spent(request, "accounts/recovery.html")
        return render(
            request, "accounts/message.html", {"title": "Your password was changed", "recovered": True}
        )
    return render(
        request,
        "accounts/recovery_password.html",
        {"form": form, "email": row.user.email},
        status=400 if form.is_bound else 200,
    )


# --- The person's account (/account, /account/sessions) ----------------------------------------

# A password change needs the current password unless the person signed in this recently.
RECENT_SIGN_IN = 300


def recent_sign_in(request: HttpRequest) -> bool:
    return time.time() - float(auth_context(request).get("auth_time") or 0) <= RECENT_SIGN_IN


def _account_page(request: AuthenticatedRequest, status: int = 200, **forms_) -> HttpResponse:
    return render(request, "accounts/account.html", _account_forms(request, **forms_), status=status)


def _account_forms(request: AuthenticatedRequest, **forms_) -> dict:
    user = request.user
    context = {
        "profile_form": ProfileForm(instance=user),
        "email_form": EmailAddressForm(prefix="email"),
        "password_form": ChangePasswordForm(user=user, recent=recent_sign_in(request), prefix="password"),
        "delete_form": DeleteAccountForm(user=user, prefix="delete"),
        **forms_,
    }
    for form in context.values():
        for field in form.fields.values():
            field.widget.attrs.pop("autofocus", None)  # several forms on one page: none takes focus
    return {**context, "account_section": "settings"}


@login_required
@sensitive_post_parameters("password-current_password", "password-password", "password-password_confirm")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def account_view(request: AuthenticatedRequest) -> HttpResponse:
    """The person's settings: profile, e-mail address, password, their data, deleting the account."""
    user = request.user
    if request.method == "GET":
        return _account_page(request)
    section = request.POST.get("section")
    form: forms.Form | forms.ModelForm
    if section == "profile":
        form = ProfileForm(request.POST, instance=user)
        if not form.is_valid():
            return _account_page(request, 400, profile_form=form)
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        if changed:
            user_update(actor=user, user=user, **changed)
        messages.success(request, "Your profile was saved.")
    elif section == "email":
        form = EmailAddressForm(request.POST, prefix="email")
        if not form.is_valid():
            return _account_page(request, 400, email_form=form)
        email = normalize_email(form.cleaned_data["email"])
        if email == user.email:
            form.add_error("email", "That is already your address.")
            return _account_page(request, 400, email_form=form)
        if throttled := _mail_throttled(
            request, email, "accounts/account.html", _account_forms(request, email_form=form)
        ):
            return throttled
        sent = selfservice.email_change_request(user=user, email=email, ip_address=client_ip(request))
        return _check_email(request, email=email, flow=sent.flow, purpose="email-change")
    elif section == "password":
        form = ChangePasswordForm(request.POST, user=user, recent=recent_sign_in(request), prefix="password")
        ip = client_ip(request)
        # Guessing the current password here counts like guessing it at sign-in.
        check = sign_in_check(email=user.email, ip_address=ip)
        if check.throttle is not None:
            return wait_page(
                request,
                check.throttle.retry_after,
                "Too many wrong passwords.",
                "accounts/account.html",
                _account_forms(request, password_form=form),
            ) or _account_page(request, 429)
        if not form.is_valid():
            if form.has_error("current_password"):
                login_failure_record(email=user.email, ip_address=ip)
            return _account_page(request, 400, password_form=form)
        selfservice.password_change(
            user=user, password=form.cleaned_data["password"], keep_session=request.session.session_key or ""
        )
        update_session_auth_hash(request, user)
        messages.success(request, "Your password was changed; your other sessions were signed out.")
    elif section == "delete":
        form = DeleteAccountForm(request.POST, user=user, prefix="delete")
        if not form.is_valid():
            return _account_page(request, 400, delete_form=form)
        try:
            selfservice.account_delete(user=user, ip_address=client_ip(request))
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
            return _account_page(request, 400, delete_form=form)
        logout(request)
        return render(
            request, "accounts/message.html", {"title": "Your account was deleted", "deleted": True}
        )
    else:
        return _account_page(request, 400)
    return redirect("accounts:account")


@login_required
@never_cache
@require_GET
def account_export_view(request: AuthenticatedRequest) -> HttpResponse:
    """Download my data: everything kept about the person, as one JSON file."""
    audit_record(event="user.exported", actor=request.user, subject=request.user.email)
    response = JsonResponse(selfservice.account_export(request.user), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = 'attachment; filename="my-account.json"'
    return response


def _device(user_agent: str) -> str:
    """A user agent in plain words: "Chrome on Linux", "Mobile Safari on iOS (iPhone)"."""
    if not user_agent:
        return "Unknown browser"
    parsed = ua_parse(user_agent)
    browser = parsed.user_agent.family if parsed.user_agent else "A browser"
    system = parsed.os.family if parsed.os else ""
    device = parsed.device.family if parsed.device and parsed.device.family not in ("Other", "Spider") else ""
    words = browser if not system or system == "Other" else f"{browser} on {system}"
    return f"{words} ({device})" if device and device not in words else words


@login_required
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def account_sessions_view(request: AuthenticatedRequest) -> HttpResponse:
    """The person's signed-in browsers and devices; sign out one, or every other."""
    user = request.user
    current = request.session.session_key or ""
    if request.method == "POST":
        others = Session.objects.filter(user=user, expire_date__gt=timezone.now()).exclude(
            session_key=current
        )
        sid = request.POST.get("sid", "")[:64]
        if sid:
            others = others.filter(sid=sid)
        ended = sessions_end_these(actor=user, user=user, sessions=others)
        messages.success(
            request,
            "That session was signed out."
            if sid and ended
            else f"{ended} other session{'s' if ended != 1 else ''} signed out.",
        )
        return redirect("accounts:account-sessions")
    rows = [
        {
            "session": session,
            "device": _device(session.user_agent),
            "current": session.session_key == current,
            "recent": session.last_seen is not None
            and timezone.now() - session.last_seen < timedelta(minutes=1),
        }
        for session in Session.objects.filter(user=user, expire_date__gt=timezone.now()).order_by(
            "-last_seen"
        )
    ]
    rows.sort(key=lambda row: not row["current"])
    return render(request, "accounts/account_sessions.html", {"rows": rows, "account_section": "sessions"})


# --- The console's identity pages ---------------------------------------------------------------


def _apply_errors(form, error: ValidationError) -> None:
    for field, messages_ in error.message_dict.items():
        for message in messages_:
            form.add_error(field if field in form.fields else None, message)


@staff_required
@require_http_methods(["GET"])
def user_list(request: HttpRequest) -> HttpResponse:
    users = User.objects.all()
    q = request.GET.get("q", "").strip()[:200]
    if q:
        users = users.filter(Q(email__icontains=q) | Q(name__icontains=q))
    status = request.GET.get("status", "")
    now = timezone.now()
    if status == "staff":
        users = users.filter(is_staff=True)
    elif status == "locked":
        users = users.filter(locked_until__gt=now)
    elif status == "inactive":
        users = users.filter(is_active=False)
    users = factors.annotate_second_factor(users)
    if status == "mfa":
        users = users.filter(Q(has_totp=True) | Q(has_passkey=True))
    elif status == "no-mfa":
        users = users.filter(has_totp=False, has_passkey=False)
    page, query = page_of(request, users.order_by("email"), 25)
    return render(
        request,
        "accounts/user_list.html",
        {
            "section": "users",
            "page": page,
            "q": q,
            "status": status,
            "query": query,
            "now": now,
            "total": User.objects.count(),
        },
    )


@sensitive_post_parameters("password")
@staff_required
@require_http_methods(["GET", "POST"])
def user_new(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"User {user.email} created.")
            return redirect("accounts:user-detail", user_id=user.pk)
    return render(
        request,
        "accounts/user_new.html",
        {"section": "users", "form": form},
        status=400 if form.is_bound else 200,
    )


@staff_required
@require_http_methods(["GET"])
def user_detail(request: HttpRequest, user_id) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    now = timezone.now()
    return render(
        request,
        "accounts/user_detail.html",
        {
            "section": "users",
            "subject": user,
            "apps": connected_apps(user=user),
            "tokens": AccessToken.objects.filter(user=user, expires__gt=now)
            .select_related("application")
            .order_by("-created")[:50],
            "logins": AuditEvent.objects.filter(subject=user.email, event__startswith="login.").order_by(
                "-at"
            )[:20],
            "locked": bool(user.locked_until and user.locked_until > now),
            "throttled": AccountLock.objects.filter(email=user.email, until__gt=now).first(),
            "password_form": SetPasswordForm(),
            "delete_form": DeleteUserForm(user=user),
            "own": user == request.user,
            "sessions": [
                {"session": session, "device": _device(session.user_agent)}
                for session in Session.objects.filter(user=user, expire_date__gt=now).order_by("-last_seen")[
                    :50
                ]
            ],
            "last_recovery": EmailCode.objects.filter(user=user, purpose=EmailCode.Purpose.RECOVER)
            .order_by("-created")
            .first(),
            "recovery_link": pop_secret(request, f"recovery:{user.pk}"),
            "factors": factors.factors_of(user),
            "mfa_required": settings.CIAM_MFA == "required",
        },
    )


@staff_required
@require_POST
def user_email_view(request: HttpRequest, user_id) -> HttpResponse:
    """Verification and recovery for the person: resend verification, mark verified, send a
    recovery message, or create a recovery link to hand over (shown once)."""
    user = get_object_or_404(User, pk=user_id)
    action = request.POST.get("action")
    if action == "send-verification":
        selfservice.verification_send(user=user, ip_address=client_ip(request))
        messages.success(request, f"A verification message was sent to {user.email}.")
    elif action == "mark-verified":
        user_update(actor=request.user, user=user, email_verified=True)
        messages.success(request, "The address is marked verified.")
    elif action == "send-recovery":
        selfservice.recovery_send(user=user, actor=request.user)
        messages.success(request, f"A recovery message was sent to {user.email}.")
    elif action == "recovery-link":
        link, _expires = selfservice.recovery_link(user=user, actor=request.user)
        flash_secret(request, f"recovery:{user.pk}", link)
    else:
        messages.error(request, "Unknown action.")
    return redirect(f"{reverse('accounts:user-detail', args=[user.pk])}#email")


@staff_required
@require_POST
def user_sessions_view(request: HttpRequest, user_id) -> HttpResponse:
    """End one of the person's sessions (`sid`), or all of them."""
    user = get_object_or_404(User, pk=user_id)
    sid = request.POST.get("sid", "")[:64]
    ended = sessions_end(actor=request.user, user=user, sid=sid)
    messages.success(
        request, f"{ended} session{'s' if ended != 1 else ''} ended." if ended else "Nothing to end."
    )
    return redirect(f"{reverse('accounts:user-detail', args=[user.pk])}#sessions")


@staff_required
@require_POST
def user_lock_view(request: HttpRequest, user_id) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    if request.POST.get("action") == "unlock":
        user_unlock(actor=request.user, user=user)
        messages.success(request, f"{user.email} unlocked.")
    elif user == request.user:
        messages.error(request, "You cannot lock your own account.")
    else:
        try:
            user_lock(actor=request.user, user=user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{user.email} locked: signed out everywhere, and cannot sign in.")
    return redirect("accounts:user-detail", user_id=user.pk)


@staff_required
@require_POST
def user_active_view(request: HttpRequest, user_id) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    activate = request.POST.get("action") == "activate"
    if not activate and user == request.user:
        messages.error(request, "You cannot deactivate your own account.")
    else:
        try:
            user_set_active(actor=request.user, user=user, active=activate)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{user.email} {'reactivated' if activate else 'deactivated'}.")
    return redirect("accounts:user-detail", user_id=user.pk)


@sensitive_post_parameters("password")
@staff_required
@require_POST
def user_password_view(request: HttpRequest, user_id) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    form = SetPasswordForm(request.POST)
    if form.is_valid():
        try:
            user_set_password(actor=request.user, user=user, password=form.cleaned_data["password"])
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Password of {user.email} changed.")
            return redirect("accounts:user-detail", user_id=user.pk)
    messages.error(
        request,
        "The password was not changed: "
        + " ".join(str(m) for errors in form.errors.values() for m in errors),
    )
    return redirect("accounts:user-detail", user_id=user.pk)


@staff_required
@require_POST
def user_delete_view(request: HttpRequest, user_id) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    form = DeleteUserForm(request.POST, user=user)
    if user == request.user:
        messages.error(request, "You cannot delete your own account.")
    elif form.is_valid():
        email = user.email
        try:
            user_delete(actor=request.user, user=user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("accounts:user-detail", user_id=user.pk)
        messages.success(request, f"User {email} deleted.")
        return redirect("accounts:user-list")
    else:
        messages.error(
            request, "Not deleted: " + " ".join(str(m) for m in form.errors.get("confirm_email", []))
        )
    return redirect("accounts:user-detail", user_id=user.pk)
