"""GET/POST /oauth2/sessions/logout: OpenID Connect RP-Initiated Logout 1.0 (the toolkit's view).

With a logout app of the deployment's own (CIAM_LOGOUT_URL), a validated logout request is handed
to it with a logout challenge (Hydra v2's flow, ciam.oauth.provider); its accept sends the
browser back with a verifier, and only then is the session ended.
"""

import uuid

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from oauth2_provider.exceptions import (
    ClientIdMissmatch,
    InvalidIDTokenError,
    InvalidOIDCClientError,
    InvalidOIDCRedirectURIError,
    OIDCError,
)
from oauth2_provider.models import get_application_model
from oauth2_provider.views.oidc import RPInitiatedLogoutView

from ciam.accounts.authn import auth_context
from ciam.audit.services import audit_record
from ciam.lib.clientip import client_ip
from ciam.oauth import flows, provider
from ciam.oauth.keys import id_token_claims
from ciam.oauth.models import IDToken


class LogoutView(RPInitiatedLogoutView):
    """A valid `id_token_hint` signs out without asking; without one the person confirms. The
    `post_logout_redirect_uri` must be registered for the client, exactly."""

    template_name = "consent/logout_confirm.html"

    def get(self, request, *args, **kwargs):
        if not settings.CIAM_LOGOUT_URL:
            return super().get(request, *args, **kwargs)
        if request.GET.get("logout_verifier"):
            return self._from_logout_app(request.GET["logout_verifier"])
        return self._to_logout_app(request.GET)

    def post(self, request, *args, **kwargs):
        if not settings.CIAM_LOGOUT_URL:
            return super().post(request, *args, **kwargs)
        return self._to_logout_app(request.POST)

    def _to_logout_app(self, params) -> HttpResponse:
        """The request, validated as always, handed to the logout app with a challenge."""
        post_logout_redirect_uri = params.get("post_logout_redirect_uri") or ""
        try:
            application, token_user = self.validate_logout_request(
                id_token_hint=params.get("id_token_hint"),
                client_id=params.get("client_id"),
                post_logout_redirect_uri=post_logout_redirect_uri,
            )
        except OIDCError as error:
            return self.error_response(error)
        user = self.request.user
        subject = getattr(token_user or user, "oidc_subject", "") if user.is_authenticated else ""
        challenge = provider.start_logout(
            self.request,
            path=self.request.get_full_path(),
            client=application,
            subject=subject,
            session_id=auth_context(self.request).get("sid", ""),
            post_logout_redirect_uri=post_logout_redirect_uri,
            state=params.get("state") or "",
        )
        return redirect(flows.add_query(settings.CIAM_LOGOUT_URL, {"logout_challenge": challenge}))

    def _from_logout_app(self, verifier: str) -> HttpResponse:
        flow = provider.logout_verified(self.request, verifier)
        if flow is None:
            return flows.error_page(
                self.request,
                "invalid_request",
                "This sign-out step is no longer valid (used, expired, or started in another browser).",
            )
        user = self.request.user
        if user.is_authenticated:
            audit_record(
                event="logout",
                actor=user,
                subject=getattr(user, "email", ""),
                client_id=flow.client.client_id if flow.client else "",
                ip_address=client_ip(self.request),
            )
        logout(self.request)
        if flow.post_logout_redirect_uri:
            target = flow.post_logout_redirect_uri
            if flow.state:
                target = flows.add_query(target, {"state": flow.state})
            return flows.RedirectToClient(target)
        return render(self.request, "consent/logged_out.html")

    def validate_logout_request_user(self, id_token_hint, client_id):
        # An ID token this server signed, with a key it still publishes (expired is fine), and
        # its record: the key is named by the token's `kid`, not derived from the client.
        if not id_token_hint:
            return None
        claims = id_token_claims(id_token_hint)
        try:
            jti = uuid.UUID(str(claims["jti"])) if claims else None
        except (KeyError, ValueError):
            jti = None
        id_token = (
            IDToken.objects.select_related("application", "user").filter(jti=jti).first() if jti else None
        )
        if id_token is None:
            raise InvalidIDTokenError()
        if client_id and id_token.application.client_id != client_id:
            raise ClientIdMissmatch()
        return id_token

    def validate_post_logout_redirect_uri(self, application, post_logout_redirect_uri):
        # The toolkit refuses http for public clients; registration already allows http only on
        # loopback (native apps, RFC 8252 §7.3), so an exact match to the registered list is the rule.
        if not post_logout_redirect_uri:
            return
        if not application:
            raise InvalidOIDCClientError()
        if not application.post_logout_redirect_uri_allowed(post_logout_redirect_uri):
            raise InvalidOIDCRedirectURIError("This address is not registered for this application.")

    def get_request_application(self, id_token, client_id):
        # The toolkit's .get() raises DoesNotExist (a 500) for an unknown client_id.
        if client_id:
            client = get_application_model().objects.filter(client_id=str(client_id)[:255]).first()
            if client is None:
                raise InvalidOIDCClientError()
            return client
        return id_token.application if id_token else None

    def do_logout(self, application=None, post_logout_redirect_uri=None, state=None, token_user=None):
        user = token_user or self.request.user
        if getattr(user, "is_authenticated", False):
            audit_record(
                event="logout",
                actor=user,
                subject=user.email,
                client_id=application.client_id if application else "",
                ip_address=client_ip(self.request),
            )
        return super().do_logout(application, post_logout_redirect_uri, state, token_user)


logout_view = never_cache(LogoutView.as_view())
