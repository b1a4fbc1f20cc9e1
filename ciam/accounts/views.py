"""Console pages for identities: list, create, detail, lock, password, deactivate, delete."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from ciam.accounts.forms import DeleteUserForm, SetPasswordForm, UserCreateForm
from ciam.accounts.models import User
from ciam.accounts.services import (
    user_create,
    user_delete,
    user_lock,
    user_set_active,
    user_set_password,
    user_unlock,
)
from ciam.audit.models import AuditEvent
from ciam.console.access import staff_required
from ciam.console.paging import page_of
from ciam.oauth.models import AccessToken
from consent.models import AccountLock
from consent.selectors import connected_apps


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
        },
    )


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
        user_lock(actor=request.user, user=user)
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
        user_set_active(actor=request.user, user=user, active=activate)
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
        "The password was not changed: " + " ".join(m for errors in form.errors.values() for m in errors),
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
        user_delete(actor=request.user, user=user)
        messages.success(request, f"User {email} deleted.")
        return redirect("accounts:user-list")
    else:
        messages.error(request, "Not deleted: " + " ".join(form.errors.get("confirm_email", [])))
    return redirect("accounts:user-detail", user_id=user.pk)
