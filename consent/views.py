"""The person's pages: sign in, register, consent, sign out, connected apps, device codes, errors.

Every page works with JavaScript off; every form is CSRF-protected; none is cached.
"""

from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib.auth import authenticate, logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ciam.audit.services import audit_record
from ciam.clientip import client_ip
from ciam.oauth import flows
from ciam.oauth.clientcache import get_client
from ciam.oauth.scopes import known_scopes
from ciam.oauth.views import complete_after_sign_in, error_page
from ciam.redirects import safe_next
from clients.models import Client
from consent import selectors
from consent.authn import mark_signed_in
from consent.forms import ConsentForm, LoginForm, RegistrationForm
from consent.services import (
    Throttle,
    consent_deny_record,
    consent_grant,
    consent_revoke,
    ip_throttle,
    login_failure_record,
    login_success_record,
    normalize_email,
    registration_refused_record,
    sign_in_check,
    user_register,
)


def _query_param(url: str, name: str) -> str:
    return parse_qs(urlsplit(url).query).get(name, [""])[0]


def _client_for_next(next_url: str) -> Client | None:
    """The client an authorization request in `next` is for, to show its name and logo: read
    only if a page is rendered (a successful sign-in redirects without it)."""

    def load() -> Client | None:
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


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("consent:login")
    return redirect("consent:account-apps")


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request.POST.get("next") or request.GET.get("next"), request)
    context = {
        "next": next_url,
        "client": _client_for_next(next_url),
        "registration_enabled": settings.CIAM_REGISTRATION_ENABLED,
    }
    if request.method == "GET":
        hint = request.GET.get("login_hint") or _query_param(next_url, "login_hint")
        form = LoginForm(initial={"email": hint[:254]})
        return render(request, "consent/login.html", {**context, "form": form})

    form = LoginForm(request.POST)
    if not form.is_valid():
        return render(request, "consent/login.html", {**context, "form": form}, status=400)
    email = normalize_email(form.cleaned_data["email"])
    ip = client_ip(request)
    check = sign_in_check(email=email, ip_address=ip)
    if check.throttle is not None:
        return _throttled(request, form, check.throttle, "consent/login.html", context)
    user = authenticate(request, username=email, password=form.cleaned_data["password"])
    if user is None:
        lock = login_failure_record(email=email, ip_address=ip)
        if lock is not None:
            return _throttled(request, form, lock, "consent/login.html", context)
        form.add_error(None, form.error_messages["invalid_login"])
        return render(request, "consent/login.html", {**context, "form": form}, status=400)
    if user.locked_until and user.locked_until > timezone.now():
        form.add_error(None, form.error_messages["locked"])
        return render(request, "consent/login.html", {**context, "form": form}, status=403)
    mark_signed_in(request, user, remember=form.cleaned_data["remember"])
    login_success_record(user=user, ip_address=ip, failures_on_record=check.failures_on_record)
    return complete_after_sign_in(request, next_url) or redirect(next_url)


@sensitive_post_parameters("password", "password_confirm")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def registration_view(request: HttpRequest) -> HttpResponse:
    if not settings.CIAM_REGISTRATION_ENABLED:
        raise Http404("Registration is disabled.")
    next_url = safe_next(request.POST.get("next") or request.GET.get("next"), request)
    context = {"next": next_url, "client": _client_for_next(next_url)}
    form = RegistrationForm(request.POST or None)
    if request.method == "POST":
        ip = client_ip(request)
        throttle = ip_throttle(ip)
        if throttle is not None:
            form = RegistrationForm(initial={"email": request.POST.get("email", "")[:254]})
            return _throttled(request, form, throttle, "consent/registration.html", context)
        if form.is_valid():
            user = user_register(
                email=form.cleaned_data["email"], password=form.cleaned_data["password"], ip_address=ip
            )
            mark_signed_in(request, user, remember=False)
            login_success_record(user=user, ip_address=ip)
            return complete_after_sign_in(request, next_url) or redirect(next_url)
        if form.has_error("email", code="duplicate_email"):
            registration_refused_record(email=request.POST.get("email", "")[:254], ip_address=ip)
        return render(request, "consent/registration.html", {**context, "form": form}, status=400)
    return render(request, "consent/registration.html", {**context, "form": form})


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    """GET asks for confirmation; only a POST signs out (no sign-out by a cross-site link)."""
    if request.method == "POST":
        if request.user.is_authenticated:
            audit_record(
                event="logout", actor=request.user, subject=request.user.email, ip_address=client_ip(request)
            )
        logout(request)
        return render(request, "consent/logged_out.html")
    return render(request, "consent/logout.html")


def scope_rows(requested: list[str], ticked: set[str] | None = None) -> list[dict]:
    """The consent page's checkboxes: every requested scope in plain words, `openid` fixed; ticked
    as the person left them (all of them on first display)."""
    descriptions = known_scopes()
    ticked = set(requested) if ticked is None else ticked
    return [
        {
            "name": s,
            "description": descriptions.get(s, s),
            "fixed": s == "openid",
            "checked": s == "openid" or s in ticked,
        }
        for s in requested
    ]


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def consent_view(request: HttpRequest) -> HttpResponse:
    challenge = request.POST.get("consent_challenge") or request.GET.get("consent_challenge")
    pending = flows.load(request, challenge)
    if pending is None or not request.user.is_authenticated:
        return error_page(
            request,
            "invalid_request",
            "This authorization request has expired or was already completed. "
            "Go back to the application and start again.",
        )
    credentials = pending["credentials"]
    client = Client.objects.filter(client_id=credentials["client_id"], is_active=True).first()
    if client is None:
        flows.discard(request, challenge)
        return error_page(request, "invalid_client", "This application is no longer available.")
    requested = pending["scopes"]
    form = ConsentForm(
        request.POST or None,
        requested_scopes=requested,
        initial={"consent_challenge": challenge, "remember": True},
    )
    status = 200
    if request.method == "POST":
        if "deny" in request.POST:
            flows.discard(request, challenge)
            consent_deny_record(user=request.user, client=client, ip_address=client_ip(request))
            return flows.deny(credentials)
        if form.is_valid():
            granted = form.granted_scopes()
            flows.discard(request, challenge)
            consent_grant(
                user=request.user,
                client=client,
                scopes=granted,
                remember=form.cleaned_data["remember"],
                ip_address=client_ip(request),
            )
            return flows.issue_code(request, scopes=granted, credentials=credentials)
        status = 400
    rows = scope_rows(
        requested, set(request.POST.getlist("grant_scope")) if request.method == "POST" else None
    )
    return render(
        request,
        "consent/consent.html",
        {
            "form": form,
            "client": client,
            "scope_rows": rows,
            "challenge": challenge,
        },
        status=status,
    )


@login_required
@never_cache
@require_GET
def account_apps(request: HttpRequest) -> HttpResponse:
    apps = selectors.connected_apps(user=request.user)
    descriptions = known_scopes()
    for app in apps:
        app["scope_rows"] = [{"name": s, "description": descriptions.get(s, s)} for s in app["scopes"]]
    return render(request, "consent/account_apps.html", {"apps": apps})


@login_required
@csrf_protect
@never_cache
@require_POST
def account_app_revoke(request: HttpRequest, client_id: str) -> HttpResponse:
    client = get_object_or_404(Client, client_id=client_id)
    consent_revoke(user=request.user, client=client, ip_address=client_ip(request))
    return redirect(f"{reverse('consent:account-apps')}?revoked={client.client_id}")


@require_GET
def error_view(request: HttpRequest) -> HttpResponse:
    error = request.GET.get("error", "error")[:100]
    description = request.GET.get("error_description", "Something went wrong.")[:500]
    return error_page(request, error, description)
