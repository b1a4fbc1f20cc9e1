"""Console pages: dashboard, tokens, signing keys, scopes, admin API tokens, audit log, settings."""

import csv
import json
from datetime import datetime, time
from typing import Any
from urllib.parse import urlencode

from csp.constants import NONE, SELF
from csp.decorators import csp_replace
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ciam.accounts import mail
from ciam.accounts.models import User
from ciam.api.models import AdminToken
from ciam.api.services import admin_token_create, admin_token_revoke
from ciam.audit.models import AuditEvent
from ciam.audit.services import audit_record
from ciam.console import selectors
from ciam.console.access import ConsoleRequest, staff_required
from ciam.console.flash import flash_secret, pop_secret
from ciam.console.paging import page_of
from ciam.lib import durations
from ciam.lib.http import Conflict
from ciam.oauth.introspection import introspect
from ciam.oauth.keys import current_signing_key, signing_key_rotate
from ciam.oauth.models import Scope, SigningKey
from ciam.oauth.scopes import PERSON_CLAIMS, clients_using, scope_create, scope_delete, scope_update
from ciam.oauth.tokens import token_revoke_by_value
from clients.models import Client


@staff_required
@require_http_methods(["GET"])
def dashboard(request: HttpRequest) -> HttpResponse:
    chosen = request.GET.get("range", "")
    range_key = chosen if chosen in selectors.RANGES else selectors.range_for_data()
    found = selectors.activity(range_key)
    return render(
        request,
        "console/dashboard.html",
        {
            "section": "dashboard",
            "counts": selectors.dashboard_counts(),
            "range": range_key,
            "ranges": [(key, label) for key, (label, _span, _size) in selectors.RANGES.items()],
            "range_label": selectors.RANGES[range_key][0],
            "charts": selectors.charts(found),
            "table": list(zip(found["buckets"], *found["series"].values(), strict=True)),
            "daily": found["daily"],
            "getting_started": selectors.getting_started(),
        },
    )


@staff_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """Paste a token: see what introspection says about it; revoke it."""
    context: dict[str, Any] = {"section": "tokens"}
    if request.method == "POST":
        value = (request.POST.get("token") or "").strip()
        if not value:
            context["error"] = "Paste an access or refresh token."
        elif request.POST.get("action") == "revoke":
            if token_revoke_by_value(actor=request.user, token=value):
                messages.success(request, "Token revoked.")
            else:
                messages.error(request, "No live token has this value; nothing was revoked.")
            return redirect("console:tokens")
        else:
            answer = introspect(value, caller=None)
            context.update(result=answer, result_json=json.dumps(answer, indent=2), token=value)
            if answer["active"] and answer["sub"] != answer["client_id"]:
                context["subject_user"] = User.objects.filter(pk=answer["sub"]).first()
    return render(request, "console/tokens.html", context, status=400 if context.get("error") else 200)


@staff_required
@require_http_methods(["GET", "POST"])
def keys(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        algorithm = request.POST.get("algorithm") or None
        if algorithm not in (None, *SigningKey.Algorithm.values):
            messages.error(request, "Unknown algorithm.")
        else:
            key = signing_key_rotate(actor=request.user, algorithm=algorithm)
            messages.success(request, f"New {key.algorithm} signing key {key.kid[:12]}… is now signing.")
        return redirect("console:keys")
    current_signing_key()  # a deployment always has one to show
    return render(
        request,
        "console/keys.html",
        {
            "section": "keys",
            "keys": SigningKey.objects.order_by("-created_at")[:50],
            "algorithms": SigningKey.Algorithm.choices,
            "default_algorithm": settings.CIAM_SIGNING_ALGORITHM,
        },
    )


def _scope_rows() -> list[dict]:
    return [{"scope": scope, "clients": clients_using(scope.name).count()} for scope in Scope.objects.all()]


@staff_required
@require_http_methods(["GET", "POST"])
def scopes(request: HttpRequest) -> HttpResponse:
    """The scope catalogue: add a scope, describe one, see which lack a description."""
    errors: dict[str, list[str]] = {}
    form = {"name": "", "description": "", "claims": []}
    if request.method == "POST":
        form = {
            "name": request.POST.get("name", "").strip(),
            "description": request.POST.get("description", ""),
            "claims": request.POST.getlist("claims"),
        }
        try:
            scope = scope_create(actor=request.user, **form)
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, f"Scope “{scope.name}” added.")
            return redirect("console:scopes")
    rows = _scope_rows()
    return render(
        request,
        "console/scopes.html",
        {
            "section": "scopes",
            "rows": rows,
            "undescribed": sum(1 for row in rows if not row["scope"].description),
            "claims": PERSON_CLAIMS,
            "form": form,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@staff_required
@require_http_methods(["GET", "POST"])
def scope_edit(request: HttpRequest, name: str) -> HttpResponse:
    scope = get_object_or_404(Scope, name=name)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        changes: dict[str, Any] = {"description": request.POST.get("description", "")}
        if not scope.builtin:
            changes["claims"] = request.POST.getlist("claims")
        try:
            scope_update(scope=scope, actor=request.user, **changes)
        except ValidationError as exc:
            errors = exc.message_dict
            scope.description = changes["description"]
        else:
            messages.success(request, f"Scope “{scope.name}” saved.")
            return redirect("console:scopes")
    return render(
        request,
        "console/scope_edit.html",
        {
            "section": "scopes",
            "scope": scope,
            "clients": clients_using(scope.name).order_by("name")[:50],
            "claims": PERSON_CLAIMS,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@staff_required
@require_POST
def scope_delete_view(request: HttpRequest, name: str) -> HttpResponse:
    scope = get_object_or_404(Scope, name=name)
    try:
        scope_delete(scope=scope, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Scope “{name}” deleted.")
    return redirect("console:scopes")


@staff_required
@require_http_methods(["GET", "POST"])
def admin_tokens(request: HttpRequest) -> HttpResponse:
    error = None
    if request.method == "POST":
        try:
            record, token = admin_token_create(actor=request.user, name=request.POST.get("name", ""))
        except ValidationError as exc:
            error = " ".join(exc.message_dict.get("name", exc.messages))
        else:
            flash_secret(request, f"admin_token:{record.pk}", token)
            messages.success(request, f"API token “{record.name}” created.")
            return redirect(f"{request.path}?created={record.pk}")
    created = None
    if request.GET.get("created", "").isdigit():
        secret = pop_secret(request, f"admin_token:{request.GET['created']}")
        if secret:
            created = {
                "token": secret,
                "record": AdminToken.objects.filter(pk=request.GET["created"]).first(),
            }
    return render(
        request,
        "console/admin_tokens.html",
        {
            "section": "admin-tokens",
            "tokens": AdminToken.objects.select_related("created_by")[:200],
            "created": created,
            "error": error,
            "name": request.POST.get("name", ""),
        },
        status=400 if error else 200,
    )


@staff_required
@require_POST
def admin_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    record = get_object_or_404(AdminToken, pk=token_id)
    admin_token_revoke(actor=request.user, token=record)
    messages.success(request, f"API token “{record.name}” revoked.")
    return redirect("console:admin-tokens")


def _date(value: str, *, end: bool = False):
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except (TypeError, ValueError):
        return None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


def _audit_filtered(request: HttpRequest):
    """The audit events the request's filters (event, actor, client, since, until) select,
    newest first; the filters as given; whether a date could not be read."""
    events = AuditEvent.objects.all()
    filters = {
        k: request.GET.get(k, "").strip()[:254] for k in ("event", "actor", "client", "since", "until")
    }
    if filters["event"]:
        events = events.filter(event=filters["event"])
    if filters["actor"]:
        events = events.filter(actor_label__icontains=filters["actor"])
    if filters["client"]:
        events = events.filter(client_id=filters["client"])
    since, until = _date(filters["since"]), _date(filters["until"], end=True)
    bad_dates = bool(filters["since"] and since is None) or bool(filters["until"] and until is None)
    if since:
        events = events.filter(at__gte=since)
    if until:
        events = events.filter(at__lte=until)
    return events.order_by("-at", "-id"), filters, bad_dates


@staff_required
@require_http_methods(["GET"])
def audit(request: HttpRequest) -> HttpResponse:
    events, filters, bad_dates = _audit_filtered(request)
    page, query = page_of(request, events, 50)
    shown = list(page.object_list)
    # Links for what each row names: the people and clients that still exist.
    people = dict(
        User.objects.filter(email__in={e.subject for e in shown if e.subject}).values_list("email", "pk")
    )
    clients = set(
        Client.objects.filter(client_id__in={e.client_id for e in shown if e.client_id}).values_list(
            "client_id", flat=True
        )
    )
    rows = [
        {"event": e, "subject_pk": people.get(e.subject), "client_exists": e.client_id in clients}
        for e in shown
    ]
    names = AuditEvent.objects.order_by("event").values_list("event", flat=True).distinct()
    return render(
        request,
        "console/audit.html",
        {
            "section": "audit",
            "page": page,
            "rows": rows,
            "filters": filters,
            "bad_dates": bad_dates,
            "query": query,
            "filter_query": urlencode({k: v for k, v in filters.items() if v}),
            "event_names": [(name, AuditEvent(event=name).label) for name in names],
        },
        status=400 if bad_dates else 200,
    )


class _Echo:
    """A file-like object whose write returns the line (csv.writer streams through it)."""

    def write(self, value: str) -> str:
        return value


def _spreadsheet_safe(value: str) -> str:
    # A cell starting with = + - @ (or a tab/CR) is a formula to a spreadsheet: make it text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _audit_row(event: AuditEvent) -> dict:
    return {
        "at": event.at.isoformat(),
        "event": event.event,
        "label": event.label,
        "actor": event.actor_label,
        "subject": event.subject,
        "client_id": event.client_id,
        "ip_address": event.ip_address or "",
        "detail": event.detail or {},
    }


@staff_required
@require_http_methods(["GET"])
def audit_export(request: ConsoleRequest) -> HttpResponse | StreamingHttpResponse:
    """The audit events of the current filter, every page of them, as CSV or JSON (streamed)."""
    kind = request.GET.get("format", "csv")
    if kind not in ("csv", "json"):
        return HttpResponse("format must be csv or json.", status=400, content_type="text/plain")
    events, filters, bad_dates = _audit_filtered(request)
    if bad_dates:
        return HttpResponse("Dates must be YYYY-MM-DD.", status=400, content_type="text/plain")
    audit_record(
        event="audit.exported",
        actor=request.user,
        detail={"format": kind, **{k: v for k, v in filters.items() if v}},
    )
    rows = (_audit_row(e) for e in events.iterator(chunk_size=2000))
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    if kind == "csv":
        writer = csv.writer(_Echo())
        columns = ["at", "event", "label", "actor", "subject", "client_id", "ip_address", "detail"]

        def lines():
            yield writer.writerow(columns)
            for row in rows:
                row["detail"] = json.dumps(row["detail"], sort_keys=True)
                yield writer.writerow([_spreadsheet_safe(str(row[c])) for c in columns])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    else:

        def chunks():
            yield "["
            for i, row in enumerate(rows):
                yield ("," if i else "") + "\n" + json.dumps(row)
            yield "\n]\n"

        response = StreamingHttpResponse(chunks(), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="ciam-audit-{stamp}.{kind}"'
    return response


@staff_required
@require_http_methods(["GET"])
def settings_view(request: HttpRequest) -> HttpResponse:
    database = settings.DATABASES["default"]
    words = durations.in_words

    def on(value: bool) -> str:
        return "on" if value else "off"

    # (what, its effective value, the variables that set it; none for a fixed policy)
    effective: list[tuple[str, str, tuple[str, ...]]] = [
        ("Issuer", settings.CIAM_ISSUER, ("CIAM_ISSUER",)),
        ("Debug mode", on(settings.DEBUG), ("DEBUG",)),
        (
            "Database",
            f"{database['ENGINE'].rsplit('.', 1)[-1]} · {database.get('HOST') or 'local file'}",
            ("DATABASE_URL",),
        ),
        (
            "Access token lifespan",
            words(settings.CIAM_ACCESS_TOKEN_LIFESPAN),
            ("CIAM_ACCESS_TOKEN_LIFESPAN",),
        ),
        (
            "Refresh token idle lifespan",
            words(settings.CIAM_REFRESH_TOKEN_LIFESPAN),
            ("CIAM_REFRESH_TOKEN_LIFESPAN",),
        ),
        ("ID token lifespan", words(settings.CIAM_ID_TOKEN_LIFESPAN), ("CIAM_ID_TOKEN_LIFESPAN",)),
        (
            "Authorization code lifespan",
            words(settings.CIAM_AUTHORIZATION_CODE_LIFESPAN),
            ("CIAM_AUTHORIZATION_CODE_LIFESPAN",),
        ),
        ("Session lifespan (remember me)", words(settings.SESSION_COOKIE_AGE), ("CIAM_SESSION_LIFESPAN",)),
        ("PKCE", "required for public clients and for clients marked so; S256 only; verifier 43–128", ()),
        ("Refresh tokens", "rotated on use; reuse revokes the family", ()),
        ("Signing algorithm for new keys", settings.CIAM_SIGNING_ALGORITHM, ("CIAM_SIGNING_ALGORITHM",)),
        (
            "Sign-in lockout",
            f"{settings.CIAM_LOGIN_MAX_FAILURES} failures within {words(settings.CIAM_LOGIN_FAILURE_WINDOW)} "
            f"lock the account for {words(settings.CIAM_LOGIN_LOCKOUT)}; "
            f"{settings.CIAM_LOGIN_IP_MAX_FAILURES} failures per network address",
            (
                "CIAM_LOGIN_MAX_FAILURES",
                "CIAM_LOGIN_FAILURE_WINDOW",
                "CIAM_LOGIN_LOCKOUT",
                "CIAM_LOGIN_IP_MAX_FAILURES",
            ),
        ),
        ("Self-registration", on(settings.CIAM_REGISTRATION_ENABLED), ("CIAM_REGISTRATION_ENABLED",)),
        (
            "Multi-factor sign-in",
            {
                "off": "off: password only; clients that require it are refused",
                "optional": "optional: people may set up an authenticator app or passkeys, "
                "then always use them",
                "required": "required: everyone, set up right after the password if need be",
            }[settings.CIAM_MFA],
            ("CIAM_MFA",),
        ),
        (
            "Consent page: remember the decision ticked",
            on(settings.CIAM_CONSENT_REMEMBER_DEFAULT),
            ("CIAM_CONSENT_REMEMBER_DEFAULT",),
        ),
        ("Dynamic client registration", on(settings.CIAM_DCR_ENABLED), ("CIAM_DCR_ENABLED",)),
        ("Device code lifespan", words(settings.CIAM_DEVICE_CODE_LIFESPAN), ("CIAM_DEVICE_CODE_LIFESPAN",)),
        ("Device poll interval", words(settings.CIAM_DEVICE_POLL_INTERVAL), ("CIAM_DEVICE_POLL_INTERVAL",)),
        ("Extra scopes", " ".join(settings.CIAM_EXTRA_SCOPES) or "none", ("CIAM_SCOPES",)),
        ("Secure cookies", on(settings.SESSION_COOKIE_SECURE), ("CIAM_SECURE_COOKIES",)),
        (
            "HSTS",
            f"for {words(settings.SECURE_HSTS_SECONDS)}" if settings.SECURE_HSTS_SECONDS else "off",
            ("CIAM_HSTS_SECONDS",),
        ),
    ]
    rows = [
        {
            "label": label,
            "value": value,
            "variables": variables,
            "set": sorted(set(variables) & settings.CIAM_SET_VARIABLES),
        }
        for label, value, variables in effective
    ]
    return render(request, "console/settings.html", {"section": "settings", "rows": rows})


# --- Outbox (make run's mail, written to var/mail/) ------------------------------------------


def _outbox_or_404() -> None:
    if not (settings.DEBUG and mail.outbox_enabled()):
        raise Http404("The outbox lists messages written to var/mail/ in DEBUG only.")


@staff_required
@require_http_methods(["GET"])
def outbox(request: HttpRequest) -> HttpResponse:
    """The latest messages the deployment wrote instead of sending them (no EMAIL_URL)."""
    _outbox_or_404()
    messages_ = mail.outbox()
    chosen = request.GET.get("m", "")
    selected = mail.outbox_message(chosen) if chosen else (messages_[0] if messages_ else None)
    if chosen and selected is None:
        raise Http404("No such message.")
    return render(
        request,
        "console/outbox.html",
        {
            "section": "outbox",
            "messages_": messages_,
            "selected": selected,
            "folder": settings.EMAIL_FILE_PATH,
        },
    )


# django-csp types its decorators for views of the request alone; this one also takes `name`.
_MESSAGE_CSP = csp_replace(
    {
        "default-src": [NONE],
        "style-src": ["'unsafe-inline'"],
        "img-src": ["https:", "data:"],
        "frame-ancestors": [SELF],
        "base-uri": [NONE],
        "form-action": [NONE],
    }
)


@staff_required
@require_http_methods(["GET"])
@_MESSAGE_CSP  # type: ignore[arg-type]
def outbox_html(request: HttpRequest, name: str) -> HttpResponse:
    """A message's HTML part, shown in a sandboxed frame of the Outbox (its own inline styles
    allowed, nothing else: no script, no form, no fetch)."""
    _outbox_or_404()
    message = mail.outbox_message(name)
    if message is None or not message.html:
        raise Http404("No such message.")
    response = HttpResponse(message.html, content_type="text/html; charset=utf-8")
    response["X-Frame-Options"] = "SAMEORIGIN"  # the Outbox frames it; no other page may
    return response
