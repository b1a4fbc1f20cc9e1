"""The person's pages: consent, sign out, connected apps, errors (sign-in and registration are
ciam.accounts'; device codes consent.device).

Every page works with JavaScript off; every form is CSRF-protected; none is cached.
"""

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from ciam.accounts.authn import AuthenticatedRequest
from ciam.accounts.models import User
from ciam.audit.services import audit_record
from ciam.lib.clientip import client_ip
from ciam.oauth import flows
from ciam.oauth.flows import error_page
from ciam.oauth.scopes import descriptions
from clients.models import Client
from consent import selectors
from consent.forms import ConsentForm, scope_rows
from consent.models import Consent
from consent.services import consent_deny_record, consent_grant, consent_revoke


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    return redirect("consent:account-apps")


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    """GET asks for confirmation; only a POST signs out (no sign-out by a cross-site link)."""
    if request.method == "POST":
        _sign_out(request)
        return render(request, "consent/logged_out.html")
    return render(request, "consent/logout.html")


def _sign_out(request: HttpRequest) -> None:
    if request.user.is_authenticated:
        audit_record(
            event="logout", actor=request.user, subject=request.user.email, ip_address=client_ip(request)
        )
    logout(request)


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def consent_view(request: HttpRequest) -> HttpResponse:
    challenge = request.POST.get("consent_challenge") or request.GET.get("consent_challenge")
    pending = flows.load(request, challenge)
    user = request.user
    if pending is None or not isinstance(user, User):
        return error_page(
            request,
            "invalid_request",
            "This authorization request has expired or was already completed. "
            "Go back to the application and start again.",
        )
    credentials = pending["credentials"]
    client = Client.objects.filter(client_id=credentials["client_id"], is_active=True).first()
    if client is None:
        flows.discard(pending)
        return error_page(request, "invalid_client", "This application is no longer available.")
    requested = pending["scopes"]
    form = ConsentForm(
        request.POST or None,
        requested_scopes=requested,
        initial={"consent_challenge": challenge, "remember": settings.CIAM_CONSENT_REMEMBER_DEFAULT},
    )
    status = 200

    def answered_already() -> HttpResponse:
        return error_page(
            request, "invalid_request", "This request was already answered. Go back to the application."
        )

    if request.method == "POST" and "switch" in request.POST:
        # "Not you?": sign out, and ask the same request again for whoever signs in next.
        if not flows.discard(pending):
            return answered_already()
        _sign_out(request)
        return redirect(flows.restart_uri(pending))
    if request.method == "POST":
        if "deny" in request.POST:
            if not flows.discard(pending):
                return answered_already()
            consent_deny_record(user=user, client=client, ip_address=client_ip(request))
            return flows.deny(credentials)
        if form.is_valid():
            granted = form.granted_scopes()
            if not flows.discard(pending):
                return answered_already()
            consent_grant(
                user=user,
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
def account_apps(request: AuthenticatedRequest) -> HttpResponse:
    apps = selectors.connected_apps(user=request.user)
    revoked = request.session.pop(_REVOKED_KEY, None)
    described = descriptions({s for app in apps for s in app["scopes"]})
    for app in apps:
        app["scope_rows"] = [{"name": s, "description": described[s]} for s in app["scopes"]]
    context = {"apps": apps, "revoked": revoked, "account_section": "apps"}
    return render(request, "consent/account_apps.html", context)


_REVOKED_KEY = "ciam_revoked_app"


@login_required
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def account_app_revoke(request: AuthenticatedRequest, client_id: str) -> HttpResponse:
    """Remove an app's access, once the person confirmed it (GET asks, naming the app; the POST
    of that page removes it). Only an app the person allowed is named at all."""
    client = get_object_or_404(Client, client_id=client_id[:255])
    if not Consent.objects.filter(user=request.user, client=client).exists():
        raise Http404("This application is not connected to your account.")
    name = client.name or client.client_id
    if request.method == "POST" and request.POST.get("confirm") == "remove":
        consent_revoke(user=request.user, client=client, ip_address=client_ip(request))
        request.session[_REVOKED_KEY] = name
        return redirect("consent:account-apps")
    return render(request, "consent/account_app_revoke.html", {"client": client, "name": name})


@require_GET
def error_view(request: HttpRequest) -> HttpResponse:
    error = request.GET.get("error", "error")[:100]
    description = request.GET.get("error_description", "Something went wrong.")[:500]
    return error_page(request, error, description)
