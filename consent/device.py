"""/device: a signed-in person types the code a device shows, then allows or denies it.

With a device verification app of the deployment's own (CIAM_DEVICE_VERIFICATION_URL, with the
login and consent apps), /device sends the browser there with a device challenge; once the app
has accepted the user code, the flow continues with the login and consent apps (Hydra v2's
device flow, ciam.oauth.provider), and the device gets its tokens.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from ciam.accounts import throttle
from ciam.accounts.authn import AuthenticatedRequest, acr_level, auth_context
from ciam.accounts.models import FailedAttempt
from ciam.audit.services import audit_record
from ciam.lib.clientip import client_ip
from ciam.oauth import provider
from ciam.oauth.authorize import required_level
from ciam.oauth.device import device_decide, pending_grant_for_user_code
from ciam.oauth.flows import add_query, error_page
from ciam.oauth.models import DeviceGrant
from ciam.oauth.views.authorize import consent_app_url, login_app_url, sign_in_from_login_app
from clients.models import Client
from consent.forms import ConsentForm, UserCodeForm, scope_rows
from consent.services import consent_deny_record, consent_grant

_SESSION_KEY = "ciam_device"
# Wrong codes a person may type within the window before being slowed down (user codes are short).
MAX_WRONG_CODES = 10
WRONG_CODE_WINDOW = timedelta(minutes=10)


def _wait_before_next_code(request: AuthenticatedRequest) -> int:
    """Seconds this person must wait before typing another code (0: none)."""
    return throttle.retry_after(
        [FailedAttempt.Kind.DEVICE_CODE],
        limit=MAX_WRONG_CODES,
        window=int(WRONG_CODE_WINDOW.total_seconds()),
        key=str(request.user.pk),
    )


def _consent_page(request, grant: DeviceGrant, client: Client, form, *, status: int = 200) -> HttpResponse:
    ticked = set(request.POST.getlist("grant_scope")) if "allow" in request.POST else None
    rows = scope_rows(grant.scope.split(), ticked)
    return render(
        request,
        "consent/consent.html",
        {
            "form": form,
            "client": client,
            "scope_rows": rows,
            "device": True,
            "action": reverse("consent:device"),
            "challenge_field": "device_challenge",
            "challenge": form.initial.get("consent_challenge") or request.POST.get("device_challenge"),
        },
        status=status,
    )


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def device_view(request) -> HttpResponse:
    if settings.CIAM_DEVICE_VERIFICATION_URL:
        return _with_apps(request)
    return _device_page(request)


def _done(request, flow, *, allowed: bool) -> HttpResponse:
    return render(request, "consent/device_done.html", {"client": flow.client, "allowed": allowed})


def _with_apps(request) -> HttpResponse:
    """The device flow through the verification, login and consent apps: each step's verifier
    brings the browser back here, and the next step starts."""
    path = request.get_full_path()
    if request.method != "GET":
        return error_page(request, "invalid_request", "Use the device verification page.", status=405)
    if request.GET.get("device_verifier"):
        flow = provider.device_verified(request, request.GET["device_verifier"], path)
        if flow is None:
            return _stale(request)
        subject = getattr(request.user, "oidc_subject", "")
        remembered = request.user.is_authenticated and auth_context(request).get("remember", True)
        challenge = provider.continue_to_login(
            request,
            flow,
            skip_subject=subject if remembered else "",
            session_id=auth_context(request).get("sid", "") if remembered else "",
        )
        return redirect(login_app_url(challenge))
    if request.GET.get("login_verifier"):
        flow = provider.login_verified(request, request.GET["login_verifier"], path)
        if flow is None or flow.device_grant is None:
            return _stale(request)
        result = flow.login_result or {}
        if "error" in result:
            device_decide(grant=flow.device_grant, user=None, allow=False, scopes=[], auth_context={})
            return _done(request, flow, allowed=False)
        user, _ = sign_in_from_login_app(request, flow)
        challenge = provider.start_consent(
            flow,
            subject=user.oidc_subject,
            skip=False,
            context={"acr": result["acr"], "amr": result["amr"], "context": result.get("context")},
        )
        return redirect(consent_app_url(challenge))
    if request.GET.get("consent_verifier"):
        flow = provider.consent_verified(request, request.GET["consent_verifier"], path)
        if flow is None or flow.device_grant is None:
            return _stale(request)
        if getattr(request.user, "oidc_subject", None) != flow.consent_subject:
            return _stale(request)
        result = flow.consent_result or {}
        if "error" in result:
            device_decide(grant=flow.device_grant, user=request.user, allow=False, scopes=[], auth_context={})
            return _done(request, flow, allowed=False)
        context = auth_context(request)
        for part in ("id_token", "access_token"):
            if result["session"].get(part):
                context[f"{part}_claims"] = result["session"][part]
        allowed = device_decide(
            grant=flow.device_grant,
            user=request.user,
            allow=True,
            scopes=result["grant_scope"],
            auth_context=context,
        )
        return _done(request, flow, allowed=allowed)
    challenge = provider.start_device(request, path=reverse("consent:device"))
    query = {"device_challenge": challenge}
    if request.GET.get("user_code"):
        query["user_code"] = request.GET["user_code"][:32]
    return redirect(add_query(settings.CIAM_DEVICE_VERIFICATION_URL, query))


def _stale(request) -> HttpResponse:
    return error_page(
        request,
        "invalid_request",
        "This step is no longer valid (used, expired, or started in another browser). "
        "Start again on your device.",
    )


@login_required
def _device_page(request: AuthenticatedRequest) -> HttpResponse:
    if request.method == "POST" and request.POST.get("device_challenge"):
        return _decide(request)
    form = UserCodeForm(request.POST or None, initial={"user_code": request.GET.get("user_code", "")})
    if request.method == "GET" or not form.is_valid():
        return render(
            request, "consent/device.html", {"form": form}, status=200 if request.method == "GET" else 400
        )
    wait = _wait_before_next_code(request)
    if wait:
        form.add_error("user_code", "Too many wrong codes. Wait a few minutes, then try again.")
        response = render(request, "consent/device.html", {"form": form}, status=429)
        response["Retry-After"] = str(wait)
        return response
    grant = pending_grant_for_user_code(form.cleaned_data["user_code"])
    client = Client.objects.filter(client_id=grant.client_id, is_active=True).first() if grant else None
    if grant is None or client is None:
        throttle.record_failure(
            FailedAttempt.Kind.DEVICE_CODE, key=str(request.user.pk), ip_address=client_ip(request)
        )
        audit_record(event="device.code_invalid", actor=request.user, ip_address=client_ip(request))
        form.add_error("user_code", "That code is not valid or has expired. Check the code on your device.")
        return render(request, "consent/device.html", {"form": form}, status=400)
    # The client's (and the deployment's) multi-factor requirement holds here too: a person signed
    # in with a password only confirms their second factor (or sets one up), then comes back.
    required = required_level(policy=settings.CIAM_MFA, client_requires=client.require_mfa, acr_values="")
    if required is None:
        form.add_error(
            "user_code",
            "This device's application requires multi-factor sign-in, which this service has turned off.",
        )
        return render(request, "consent/device.html", {"form": form}, status=403)
    if acr_level(auth_context(request).get("acr")) < required:
        back = f"{reverse('consent:device')}?{urlencode({'user_code': form.cleaned_data['user_code']})}"
        return redirect(f"{reverse('accounts:login-factor')}?{urlencode({'next': back})}")
    challenge = secrets.token_urlsafe(24)
    request.session[_SESSION_KEY] = {"challenge": challenge, "grant": grant.pk}
    consent_form = ConsentForm(
        requested_scopes=grant.scope.split(),
        initial={"consent_challenge": challenge, "remember": settings.CIAM_CONSENT_REMEMBER_DEFAULT},
    )
    return _consent_page(request, grant, client, consent_form)


def _decide(request: AuthenticatedRequest) -> HttpResponse:
    parked = request.session.get(_SESSION_KEY) or {}
    grant = None
    if parked.get("challenge") and secrets.compare_digest(
        parked["challenge"], request.POST["device_challenge"]
    ):
        grant = DeviceGrant.objects.filter(
            pk=parked["grant"], status=DeviceGrant.AUTHORIZATION_PENDING, expires__gt=timezone.now()
        ).first()
    client = Client.objects.filter(client_id=grant.client_id, is_active=True).first() if grant else None
    if grant is None or client is None:
        request.session.pop(_SESSION_KEY, None)
        return render(
            request,
            "consent/device.html",
            {
                "form": UserCodeForm(),
                "page_error": "This code has expired or was already used. Start again on your device.",
            },
            status=400,
        )
    data = request.POST.copy()
    data["consent_challenge"] = request.POST.get("device_challenge", "")
    form = ConsentForm(data, requested_scopes=grant.scope.split())
    if "deny" in request.POST:
        device_decide(grant=grant, user=request.user, allow=False, scopes=[], auth_context={})
        consent_deny_record(user=request.user, client=client, ip_address=client_ip(request))
        request.session.pop(_SESSION_KEY, None)
        return render(request, "consent/device_done.html", {"client": client, "allowed": False})
    if not form.is_valid():
        form.initial["consent_challenge"] = request.POST["device_challenge"]
        return _consent_page(request, grant, client, form, status=400)
    granted = form.granted_scopes()
    if device_decide(
        grant=grant, user=request.user, allow=True, scopes=granted, auth_context=auth_context(request)
    ):
        consent_grant(
            user=request.user,
            client=client,
            scopes=granted,
            remember=form.cleaned_data["remember"],
            ip_address=client_ip(request),
        )
    request.session.pop(_SESSION_KEY, None)
    return render(
        request,
        "consent/device_done.html",
        {"client": client, "allowed": True, "lifespan": settings.CIAM_DEVICE_CODE_LIFESPAN},
    )
