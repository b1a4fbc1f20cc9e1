"""Console pages for OAuth2 clients: list, create, read, edit, rotate, disable, delete, try."""

import base64
import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from jwcrypto import jwk, jwt
from oauthlib.common import urlencode as oauth_urlencode

from ciam.console.access import ConsoleRequest, staff_required
from ciam.console.flash import flash_secret, pop_secret
from ciam.console.paging import page_of
from ciam.oauth.flows import oauthlib_core
from ciam.oauth.keys import jwks
from ciam.oauth.models import AccessToken
from ciam.oauth.tokens import access_token_revoke
from clients.forms import DEFAULT_PRESET, PRESETS, ClientForm, DeleteClientForm
from clients.models import Client, GrantType, TryRun
from clients.rules import redirect_uri_problem
from clients.services import (
    ClientConflict,
    client_create,
    client_delete,
    client_secret_rotate,
    client_set_active,
    client_snapshot,
    client_update,
    try_run_keep_tokens,
    try_run_returned,
    try_run_start,
    try_runs_revoke,
)
from consent.models import Consent
from consent.services import consent_revoke

SORTS = {"name": "name", "-name": "-name", "created": "created", "-created": "-created"}


@staff_required
@require_http_methods(["GET"])
def client_list(request: ConsoleRequest) -> HttpResponse:
    clients = Client.objects.all()
    q = request.GET.get("q", "").strip()[:200]
    if q:
        clients = clients.filter(Q(name__icontains=q) | Q(client_id__icontains=q) | Q(owner__icontains=q))
    kind = request.GET.get("type", "")
    if kind in {"public", "confidential"}:
        clients = clients.filter(client_type=kind)
    grant = request.GET.get("grant", "")
    if grant in GrantType.values:
        clients = clients.filter(grant_types__icontains=grant)
    sort = request.GET.get("sort", "-created")
    clients = clients.order_by(SORTS.get(sort, "-created"), "-id")
    page, query = page_of(request, clients, 25)
    counts = Client.objects.aggregate(
        total=Count("id"),
        public=Count("id", filter=Q(client_type="public")),
        confidential=Count("id", filter=Q(client_type="confidential")),
    )
    context = {
        "section": "clients",
        "page": page,
        "q": q,
        "kind": kind,
        "grant": grant,
        "sort": sort,
        "counts": counts,
        "grant_choices": GrantType.choices,
        "query": query,
        "filtered": bool(q or kind or grant),
    }
    template = "clients/client_list.html#client-table" if request.htmx else "clients/client_list.html"
    return render(request, template, context)


def _form_context(form: ClientForm, **extra) -> dict:
    if isinstance(form.data, QueryDict):
        submitted = form.data.getlist("redirect_uris")
    else:
        submitted = form.initial.get("redirect_uris", [])
    per_uri = form.redirect_uri_errors() if form.is_bound else {}
    first_error = form.first_error()
    rows = [
        {"value": uri, "errors": per_uri.get(uri, []), "ok": form.is_bound and not per_uri.get(uri)}
        for uri in submitted
    ] or [{"value": "", "errors": [], "ok": False}]
    if first_error == "redirect_uris":
        (next((row for row in rows if row["errors"]), rows[0]))["focus"] = True
    listed = {m for errors in per_uri.values() for m in errors}
    general = [m for m in form.errors.get("redirect_uris", []) if m not in listed]
    return {
        "form": form,
        "uri_rows": rows,
        "uri_errors": general,
        "section": "clients",
        "presets": PRESETS,
        "preset_values": {key: preset.values for key, preset in PRESETS.items()},
        **extra,
    }


@staff_required
@require_http_methods(["GET", "POST"])
def client_new(request: HttpRequest) -> HttpResponse:
    preset = request.GET.get("preset", DEFAULT_PRESET)
    preset = preset if preset in PRESETS else DEFAULT_PRESET
    form = ClientForm(request.POST or None, initial=ClientForm.initial_for_preset(preset))
    if request.method == "POST" and form.is_valid():
        try:
            result = client_create(actor=request.user, **form.service_fields())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            if result.client_secret:
                flash_secret(request, f"client:{result.client.client_id}", result.client_secret)
            messages.success(request, f"Client “{result.client.name}” created.")
            return redirect("clients:detail", client_id=result.client.client_id)
    status = 400 if form.is_bound else 200
    context = _form_context(form, creating=True, preset=None if form.is_bound else preset)
    return render(request, "clients/client_form.html", context, status=status)


@staff_required
@require_http_methods(["GET", "POST"])
def client_edit(request: HttpRequest, client_id: str) -> HttpResponse:
    client = get_object_or_404(Client, client_id=client_id)
    form = ClientForm(request.POST or None, initial=ClientForm.initial_for(client))
    if request.method == "POST" and form.is_valid():
        changes = form.service_fields()
        try:
            result = client_update(
                client=client,
                actor=request.user,
                expected_revision=form.cleaned_data.get("revision"),
                **changes,
            )
        except ClientConflict as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            if result.client_secret:
                flash_secret(request, f"client:{client.client_id}", result.client_secret)
            messages.success(request, "Changes saved.")
            return redirect("clients:detail", client_id=client.client_id)
    status = 400 if form.is_bound else 200
    return render(request, "clients/client_form.html", _form_context(form, client=client), status=status)


@staff_required
@require_POST
def validate_redirect_uri(request: HttpRequest) -> HttpResponse:
    """htmx: the problem with one redirect URI as it is typed (the same rule the service applies)."""
    value = (request.POST.get("redirect_uris") or "").strip()
    public = request.POST.get("client_type") == "public"
    problem = redirect_uri_problem(value, public=public) if value else None
    return render(request, "clients/client_form.html#uri-feedback", {"problem": problem, "value": value})


def _snippets(request: HttpRequest, client: Client) -> dict:
    issuer = settings.CIAM_ISSUER
    verifier = "<code_verifier: 43-128 random characters>"
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": (client.redirect_uri_list or ["<redirect_uri>"])[0],
        "scope": client.scope or "openid",
        "state": "<random state>",
        "code_challenge": "<BASE64URL(SHA256(code_verifier))>",
        "code_challenge_method": "S256",
    }
    snippets = {
        "discovery": f"{issuer}/.well-known/openid-configuration",
        "authorize": f"{issuer}/oauth2/auth?{urlencode(params, safe='<>():')}",
        "verifier_note": verifier,
    }
    if client.allows_grant_type("client_credentials"):
        auth = (
            '-u "$CLIENT_ID:$CLIENT_SECRET"'
            if client.token_endpoint_auth_method == "client_secret_basic"
            else ('-d client_id="$CLIENT_ID" -d client_secret="$CLIENT_SECRET"')
        )
        scope = f' \\\n  -d scope="{client.scope}"' if client.scope else ""
        snippets["curl"] = (
            f"CLIENT_ID={client.client_id}\nCLIENT_SECRET='<the secret shown when it was created>'\n"
            f"curl -s {auth} \\\n  -d grant_type=client_credentials{scope} \\\n  {issuer}/oauth2/token"
        )
    return snippets


@staff_required
@require_http_methods(["GET"])
def client_detail(request: HttpRequest, client_id: str) -> HttpResponse:
    client = get_object_or_404(Client, client_id=client_id)
    now = timezone.now()
    tokens = (
        AccessToken.objects.filter(application=client, expires__gt=now)
        .select_related("user")
        .order_by("-created")[:50]
    )
    consents = Consent.objects.filter(client=client).select_related("user").order_by("-granted_at")[:50]
    return render(
        request,
        "clients/client_detail.html",
        {
            "section": "clients",
            "client": client,
            "settings_rows": client_snapshot(client),
            "secret": pop_secret(request, f"client:{client.client_id}"),
            "snippets": _snippets(request, client),
            "tokens": tokens,
            "token_count": AccessToken.objects.filter(application=client, expires__gt=now).count(),
            "consents": consents,
        },
    )


@staff_required
@require_POST
def client_rotate_secret(request: HttpRequest, client_id: str) -> HttpResponse:
    client = get_object_or_404(Client, client_id=client_id)
    try:
        result = client_secret_rotate(client=client, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        flash_secret(request, f"client:{client.client_id}", result.client_secret or "")
        messages.success(request, "A new secret was generated. The old one no longer works.")
    return redirect("clients:detail", client_id=client.client_id)


@staff_required
@require_POST
def client_toggle(request: HttpRequest, client_id: str) -> HttpResponse:
    client = get_object_or_404(Client, client_id=client_id)
    client_set_active(client=client, active=not client.is_active, actor=request.user)
    messages.success(
        request, "Client enabled." if client.is_active else "Client disabled: it can get no token."
    )
    return redirect("clients:detail", client_id=client.client_id)


@staff_required
@require_http_methods(["GET", "POST"])
def client_delete_view(request: HttpRequest, client_id: str) -> HttpResponse:
    client = get_object_or_404(Client, client_id=client_id)
    form = DeleteClientForm(request.POST or None, client=client)
    if request.method == "POST" and form.is_valid():
        name = client.name or client.client_id
        client_delete(client=client, actor=request.user)
        messages.success(request, f"Client “{name}” deleted, and its tokens revoked.")
        return redirect("clients:list")
    return render(
        request,
        "clients/client_delete.html",
        {"section": "clients", "client": client, "form": form},
        status=400 if form.is_bound else 200,
    )


@staff_required
@require_POST
def client_token_revoke(request: HttpRequest, client_id: str, token_id: int) -> HttpResponse:
    token = get_object_or_404(AccessToken, pk=token_id, application__client_id=client_id)
    access_token_revoke(actor=request.user, token=token)
    messages.success(request, "Token revoked.")
    return redirect(f"{reverse('clients:detail', args=[client_id])}#tokens")


@staff_required
@require_POST
def client_consent_revoke(request: HttpRequest, client_id: str, consent_id: int) -> HttpResponse:
    consent = get_object_or_404(Consent, pk=consent_id, client__client_id=client_id)
    consent_revoke(user=consent.user, client=consent.client, actor=request.user)
    messages.success(request, f"Consent of {consent.user.email} revoked, with their tokens.")
    return redirect(f"{reverse('clients:detail', args=[client_id])}#consents")


# --- Try it ---------------------------------------------------------------------------------------


@staff_required
@require_POST
def client_try(request: ConsoleRequest, client_id: str) -> HttpResponse:
    """Start an authorization code + PKCE flow against this client, as an application would. The
    browser comes back to the console's callback for this run, allowed for it alone (TryRun)."""
    client = get_object_or_404(Client, client_id=client_id)
    if not client.allows_grant_type("authorization_code"):
        messages.error(request, "Try it needs the authorization code grant.")
        return redirect("clients:detail", client_id=client_id)
    run, key = try_run_start(client=client, actor=request.user)
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(16)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    secret = request.POST.get("client_secret", "")
    flash_secret(
        request,
        f"try:{client.client_id}",
        json.dumps({"verifier": verifier, "state": state, "secret": secret, "key": key}),
    )
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": TryRun.callback_uri(client.client_id, key),
        "scope": client.scope,
        "state": state,
        "nonce": secrets.token_urlsafe(12),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return redirect(f"{reverse('oauth:authorize')}?{urlencode(params)}")


def _decode_jwt(token: str) -> dict | None:
    try:
        parsed = jwt.JWT(jwt=token, key=jwk.JWKSet.from_json(json.dumps(jwks())), expected_type="JWS")
        return {"header": json.loads(parsed.header), "claims": json.loads(parsed.claims), "verified": True}
    except Exception:  # noqa: BLE001 - shown to the administrator as "could not verify"
        return None


# Claims that are times (seconds since the epoch, RFC 7519 §2 NumericDate).
_TIME_CLAIMS = {"iat", "exp", "nbf", "auth_time", "updated_at"}


def _claim_rows(claims: dict) -> list[dict]:
    """An ID token's claims as the page lists them: a time as a date (its number kept as a hint)."""
    rows = []
    for name, value in claims.items():
        when = None
        if name in _TIME_CLAIMS and isinstance(value, int | float) and not isinstance(value, bool):
            when = datetime.fromtimestamp(value, tz=UTC)
        shown = value if isinstance(value, str) else json.dumps(value)
        rows.append({"name": name, "value": shown, "when": when})
    return rows


def _exchange(client: Client, code: str, redirect_uri: str, saved: dict) -> tuple[int, dict]:
    """The token request an application makes with the code, through the same oauthlib server
    as /oauth2/token, in-process: its status and JSON body."""
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": saved["verifier"],
        "client_id": client.client_id,
    }
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if not client.is_public:
        if client.token_endpoint_auth_method == "client_secret_basic":
            raw = f"{client.client_id}:{saved['secret']}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
            body.pop("client_id")
        else:
            body["client_secret"] = saved["secret"]
    _headers, response_body, status = oauthlib_core().server.create_token_response(
        settings.CIAM_ISSUER + reverse("oauth:token"), "POST", oauth_urlencode(list(body.items())), headers
    )
    return status, json.loads(response_body)


@staff_required
@require_http_methods(["GET"])
def client_try_callback(request: ConsoleRequest, client_id: str, key: str) -> HttpResponse:
    client = get_object_or_404(Client, client_id=client_id)
    run = try_run_returned(client=client, actor=request.user, key=key)
    saved = pop_secret(request, f"try:{client.client_id}")
    context: dict[str, Any] = {"section": "clients", "client": client}
    if run is None or saved is None or json.loads(saved).get("key") != key:
        context["problem"] = "This result has expired or was already shown. Start again."
        return render(request, "clients/client_try.html", context, status=400)
    saved = json.loads(saved)
    if request.GET.get("error"):
        context["problem"] = f"{request.GET['error']}: {request.GET.get('error_description', '')}"
        return render(request, "clients/client_try.html", context)
    if not secrets.compare_digest(request.GET.get("state", ""), saved["state"]):
        context["problem"] = "The state did not match: the response was not for this attempt."
        return render(request, "clients/client_try.html", context, status=400)
    status, tokens = _exchange(
        client, request.GET.get("code", ""), TryRun.callback_uri(client_id, key), saved
    )
    try_run_keep_tokens(run=run, tokens=tokens)
    now = timezone.now()
    expires_in = tokens.get("expires_in")
    context.update(
        status=status,
        key=key,
        token_response=json.dumps(tokens, indent=2),
        expires_at=now + timedelta(seconds=expires_in) if isinstance(expires_in, int) else None,
        has_tokens=bool(run.token_digests),
        id_token=_decode_jwt(tokens["id_token"]) if "id_token" in tokens else None,
    )
    if context["id_token"]:
        context["claim_rows"] = _claim_rows(context["id_token"]["claims"])
        context["id_token_header"] = json.dumps(context["id_token"]["header"])
    return render(request, "clients/client_try.html", context)


@staff_required
@require_POST
def client_try_revoke(request: ConsoleRequest, client_id: str, key: str) -> HttpResponse:
    """Revoke the tokens a Try it run got: the Revoke button, or the page being left (a beacon)."""
    client = get_object_or_404(Client, client_id=client_id)
    if try_runs_revoke(client=client, actor=request.user, key=key):
        messages.success(request, "The tokens from your Try it run were revoked.")
    return redirect(f"{reverse('clients:detail', args=[client_id])}#try")
