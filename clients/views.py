"""Console pages for OAuth2 clients: list, create, read, edit, rotate, disable, delete, try."""

import base64
import hashlib
import json
import secrets
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
from clients.models import Client, GrantType
from clients.rules import redirect_uri_problem
from clients.services import (
    ClientConflict,
    client_create,
    client_delete,
    client_secret_rotate,
    client_set_active,
    client_snapshot,
    client_update,
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


def _console_redirect_uri(client: Client) -> str:
    return settings.CIAM_ISSUER + reverse("clients:try-callback", args=[client.client_id])


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
            "console_redirect_uri": _console_redirect_uri(client),
            "has_console_redirect": _console_redirect_uri(client) in client.redirect_uri_list,
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

_TRY_KEY = "ciam_try"


@staff_required
@require_POST
def client_add_console_redirect(request: HttpRequest, client_id: str) -> HttpResponse:
    client = get_object_or_404(Client, client_id=client_id)
    uris = client.redirect_uri_list
    if _console_redirect_uri(client) not in uris:
        try:
            client_update(
                client=client, actor=request.user, redirect_uris=[*uris, _console_redirect_uri(client)]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
            return redirect("clients:detail", client_id=client_id)
        messages.success(request, "The console's redirect URI was added to this client.")
    return redirect(f"{reverse('clients:detail', args=[client_id])}#try")


@staff_required
@require_POST
def client_try(request: HttpRequest, client_id: str) -> HttpResponse:
    """Start an authorization code + PKCE flow against this client, as an application would."""
    client = get_object_or_404(Client, client_id=client_id)
    if (
        not client.allows_grant_type("authorization_code")
        or _console_redirect_uri(client) not in client.redirect_uri_list
    ):
        messages.error(request, "Try it needs the authorization_code grant and the console's redirect URI.")
        return redirect("clients:detail", client_id=client_id)
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(16)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    secret = request.POST.get("client_secret", "")
    flash_secret(
        request,
        f"try:{client.client_id}",
        json.dumps({"verifier": verifier, "state": state, "secret": secret}),
    )
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": _console_redirect_uri(client),
        "scope": client.scope,
        "state": state,
        "nonce": secrets.token_urlsafe(12),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "prompt": "consent",
    }
    return redirect(f"{reverse('oauth:authorize')}?{urlencode(params)}")


def _decode_jwt(token: str) -> dict | None:
    try:
        parsed = jwt.JWT(jwt=token, key=jwk.JWKSet.from_json(json.dumps(jwks())), expected_type="JWS")
        return {"header": json.loads(parsed.header), "claims": json.loads(parsed.claims), "verified": True}
    except Exception:  # noqa: BLE001 - shown to the administrator as "could not verify"
        return None


@staff_required
@require_http_methods(["GET"])
def client_try_callback(request: HttpRequest, client_id: str) -> HttpResponse:
    client = get_object_or_404(Client, client_id=client_id)
    saved = pop_secret(request, f"try:{client.client_id}")
    context: dict[str, Any] = {"section": "clients", "client": client}
    if saved is None:
        context["problem"] = "This result has expired or was already shown. Start again."
        return render(request, "clients/client_try.html", context, status=400)
    saved = json.loads(saved)
    if request.GET.get("error"):
        context["problem"] = f"{request.GET['error']}: {request.GET.get('error_description', '')}"
        return render(request, "clients/client_try.html", context)
    if not secrets.compare_digest(request.GET.get("state", ""), saved["state"]):
        context["problem"] = "The state did not match: the response was not for this attempt."
        return render(request, "clients/client_try.html", context, status=400)
    body = {
        "grant_type": "authorization_code",
        "code": request.GET.get("code", ""),
        "redirect_uri": _console_redirect_uri(client),
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
    # The token request goes through the same oauthlib server as /oauth2/token, in-process.
    _headers, response_body, status = oauthlib_core().server.create_token_response(
        settings.CIAM_ISSUER + reverse("oauth:token"), "POST", oauth_urlencode(list(body.items())), headers
    )
    tokens = json.loads(response_body)
    context.update(
        status=status,
        token_response=json.dumps(tokens, indent=2),
        id_token=_decode_jwt(tokens["id_token"]) if "id_token" in tokens else None,
    )
    if context["id_token"]:
        context["id_token_json"] = json.dumps(context["id_token"], indent=2)
    return render(request, "clients/client_try.html", context)
