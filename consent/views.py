"""The end user's pages: sign in, consent, sign out, errors."""

from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from ciam.audit.services import audit_record
from ciam.oauth import flows
from ciam.oauth.scopes import known_scopes
from ciam.oauth.views import error_page
from ciam.redirects import safe_next
from clients.models import Client
from consent.forms import ConsentForm, LoginForm


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("consent:login")
    return render(request, "consent/home.html")


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request.POST.get("next") or request.GET.get("next"), request)
    if request.method == "POST":
        form = LoginForm(request, data=request.POST)
        if form.is_valid():
            login(request, form.user)
            audit_record(event="login.succeeded", actor=form.user, ip_address=client_ip(request))
            return redirect(next_url)
        if form.has_error("__all__", "invalid_login"):
            audit_record(
                event="login.failed",
                actor_label="anonymous",
                subject=(request.POST.get("email") or "")[:254],
                ip_address=client_ip(request),
            )
    else:
        form = LoginForm(request, initial={"email": request.GET.get("login_hint", "")})
    return render(request, "consent/login.html", {"form": form, "next": next_url})


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    """GET asks for confirmation; only a POST signs out (no logout by a cross-site link)."""
    if request.method == "POST":
        if request.user.is_authenticated:
            audit_record(event="logout", actor=request.user, ip_address=client_ip(request))
        logout(request)
        return redirect("consent:login")
    return render(request, "consent/logout.html")


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
        request.POST or None, requested_scopes=requested, initial={"consent_challenge": challenge}
    )
    if request.method == "POST":
        if "deny" in request.POST:
            flows.discard(request, challenge)
            audit_record(
                event="consent.denied",
                actor=request.user,
                client_id=client.client_id,
                ip_address=client_ip(request),
            )
            return flows.deny(credentials)
        if form.is_valid():
            granted = form.granted_scopes()
            flows.discard(request, challenge)
            audit_record(
                event="consent.granted",
                actor=request.user,
                client_id=client.client_id,
                ip_address=client_ip(request),
                detail={"scopes": granted},
            )
            return flows.issue_code(request, scopes=granted, credentials=credentials)
    descriptions = known_scopes()
    scope_rows = [
        {"name": s, "description": descriptions.get(s, s), "fixed": s == "openid"} for s in requested
    ]
    return render(
        request,
        "consent/consent.html",
        {"form": form, "client": client, "scope_rows": scope_rows, "challenge": challenge},
    )


@require_GET
def error_view(request: HttpRequest) -> HttpResponse:
    error = request.GET.get("error", "error")[:100]
    description = request.GET.get("error_description", "Something went wrong.")[:500]
    return error_page(request, error, description)
