"""Who may use the console: staff only. Everyone else gets the login page or a 403. With
CIAM_MFA=required, a staff session signed in with a password only confirms its second factor
(or sets one up) first."""

import functools
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django_htmx.middleware import HtmxDetails

from ciam.accounts.authn import acr_level, auth_context


class ConsoleRequest(HttpRequest):
    """A console page's request: django-htmx's details ride on it (for types)."""

    htmx: HtmxDetails


def staff_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @functools.wraps(view)
    @never_cache
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return redirect(f"{reverse('accounts:login')}?{urlencode({'next': request.get_full_path()})}")
        if not (user.is_active and user.is_staff):
            return render(request, "console/forbidden.html", status=403)
        if settings.CIAM_MFA == "required" and acr_level(auth_context(request).get("acr")) < 2:
            next_url = request.get_full_path() if request.method == "GET" else reverse("console:dashboard")
            return redirect(f"{reverse('accounts:login-factor')}?{urlencode({'next': next_url})}")
        return view(request, *args, **kwargs)

    return wrapper
