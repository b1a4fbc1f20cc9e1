"""Hydra v2's login and consent provider API, for a login and consent app of the deployment's
own (ciam.oauth.provider holds the flow): read a login or consent request, accept or reject it;
every answer is `{"redirect_to": ...}`, a handled request 410 with `redirect_to`.

Paths are Hydra's (`/admin/oauth2/auth/requests/...`), and its legacy ones without `/admin`.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from ciam.accounts.services import user_for_subject
from ciam.api.views import AdminApiView
from ciam.lib.clientip import client_ip
from ciam.oauth import provider
from ciam.oauth.models import AuthorizationFlow
from clients.serializers import ClientSerializer, client_json
from consent.services import consent_grant

RedirectTo = inline_serializer("OAuth2RedirectTo", fields={"redirect_to": serializers.CharField()})


def _strings(**kwargs):
    return serializers.ListField(child=serializers.CharField(), required=False, **kwargs)


OidcContext = inline_serializer(
    "OAuth2ConsentRequestOpenIDConnectContext",
    fields={
        "acr_values": _strings(),
        "display": serializers.CharField(),
        "login_hint": serializers.CharField(),
        "ui_locales": _strings(),
    },
)
_REQUEST_FIELDS: dict[str, serializers.Field] = {
    "challenge": serializers.CharField(),
    "client": ClientSerializer(),
    "request_url": serializers.CharField(),
    "requested_scope": _strings(),
    "requested_access_token_audience": _strings(),
    "oidc_context": OidcContext,
    "skip": serializers.BooleanField(),
    "subject": serializers.CharField(),
}
LoginRequest = inline_serializer(
    "OAuth2LoginRequest", fields={**_REQUEST_FIELDS, "session_id": serializers.CharField()}
)
ConsentRequest = inline_serializer(
    "OAuth2ConsentRequest",
    fields={
        **_REQUEST_FIELDS,
        "consent_request_id": serializers.CharField(),
        "login_session_id": serializers.CharField(),
        "acr": serializers.CharField(),
        "amr": _strings(),
        "context": serializers.JSONField(required=False),
    },
)
_REMEMBER_FIELDS: dict[str, serializers.Field] = {
    "remember": serializers.BooleanField(required=False),
    "remember_for": serializers.IntegerField(required=False, help_text="Seconds; 0: the browser session."),
    "context": serializers.JSONField(required=False),
}
AcceptLogin = inline_serializer(
    "AcceptOAuth2LoginRequest",
    fields={
        "subject": serializers.CharField(help_text="The signed-in person's identifier; becomes `sub`."),
        "acr": serializers.CharField(required=False),
        "amr": _strings(),
        **_REMEMBER_FIELDS,
    },
)
AcceptConsent = inline_serializer(
    "AcceptOAuth2ConsentRequest",
    fields={
        "grant_scope": _strings(help_text="Of the requested scopes; null entries are ignored."),
        "grant_access_token_audience": _strings(),
        "session": inline_serializer(
            "AcceptOAuth2ConsentRequestSession",
            fields={
                "access_token": serializers.JSONField(required=False),
                "id_token": serializers.JSONField(required=False, help_text="Extra ID token claims."),
            },
        ),
        **_REMEMBER_FIELDS,
    },
)
Reject = inline_serializer(
    "RejectOAuth2Request",
    fields={
        "error": serializers.CharField(required=False),
        "error_description": serializers.CharField(required=False),
        "error_hint": serializers.CharField(required=False),
        "status_code": serializers.IntegerField(required=False),
    },
)
LogoutRequest = inline_serializer(
    "OAuth2LogoutRequest",
    fields={
        "challenge": serializers.CharField(),
        "subject": serializers.CharField(),
        "sid": serializers.CharField(),
        "client": ClientSerializer(allow_null=True),
        "request_url": serializers.CharField(),
        "rp_initiated": serializers.BooleanField(),
        "requested_at": serializers.DateTimeField(),
        "expires_at": serializers.DateTimeField(),
    },
)


def _challenge(request, name: str) -> str:
    value = request.query_params.get(f"{name}_challenge") or request.query_params.get("challenge")
    if not value:
        raise ValidationError({f"{name}_challenge": ["This query parameter is required."]})
    return value


def _common(flow: AuthorizationFlow, challenge: str) -> dict:
    return {
        "challenge": challenge,
        "client": client_json(flow.client) if flow.client else None,  # never its secret
        "request_url": provider.request_url(flow),
        "requested_scope": flow.requested_scope,
        "requested_access_token_audience": flow.requested_audience,
        "oidc_context": flow.oidc_context,
    }


def login_request_json(flow: AuthorizationFlow, challenge: str) -> dict:
    return {
        **_common(flow, challenge),
        "skip": flow.login_skip,
        "subject": flow.login_subject,
        "session_id": flow.login_session_id,
    }


def consent_request_json(flow: AuthorizationFlow, challenge: str) -> dict:
    context = flow.consent_context or {}
    return {
        **_common(flow, challenge),
        "consent_request_id": str(flow.pk),
        "skip": flow.consent_skip,
        "subject": flow.consent_subject,
        "login_session_id": flow.login_session_id,
        "acr": context.get("acr", ""),
        "amr": context.get("amr", []),
        "context": context.get("context"),
    }


class _ProviderApi(AdminApiView):
    """The answers Hydra gives: 404 for an unknown challenge, 410 with `redirect_to` for one
    already handled."""

    def handle_exception(self, exc):
        if isinstance(exc, provider.Gone):
            return Response({"redirect_to": exc.redirect_to}, status=410)
        if isinstance(exc, provider.NotFound):
            return Response(
                {"error": "not_found", "error_description": "Unknown or expired challenge."}, status=404
            )
        return super().handle_exception(exc)


def _parameter(name: str) -> OpenApiParameter:
    return OpenApiParameter(
        f"{name}_challenge", str, required=True, description="The challenge (or `challenge`)."
    )


class LoginRequestApi(_ProviderApi):
    @extend_schema(
        operation_id="getOAuth2LoginRequest",
        summary="Read a login request",
        description="What the login app needs: the client, the requested scopes, and `skip` with the "
        "remembered `subject` when the person is already signed in (then accept at once).",
        parameters=[_parameter("login")],
        responses={200: LoginRequest, 410: RedirectTo},
    )
    def get(self, request):
        challenge = _challenge(request, "login")
        return Response(login_request_json(provider.login_request(challenge), challenge))


class LoginAcceptApi(_ProviderApi):
    @extend_schema(
        operation_id="acceptOAuth2LoginRequest",
        summary="Accept a login request",
        description="Body: `subject` (required), `remember`, `remember_for`, `acr`, `amr`, `context`.",
        parameters=[_parameter("login")],
        request=AcceptLogin,
        responses={200: RedirectTo, 410: RedirectTo},
    )
    def put(self, request):
        return Response({"redirect_to": provider.login_accept(_challenge(request, "login"), request.data)})


class LoginRejectApi(_ProviderApi):
    @extend_schema(
        operation_id="rejectOAuth2LoginRequest",
        summary="Reject a login request",
        description="Body: `error`, `error_description`, `error_hint`; the client receives them.",
        parameters=[_parameter("login")],
        request=Reject,
        responses={200: RedirectTo, 410: RedirectTo},
    )
    def put(self, request):
        return Response({"redirect_to": provider.login_reject(_challenge(request, "login"), request.data)})


class ConsentRequestApi(_ProviderApi):
    @extend_schema(
        operation_id="getOAuth2ConsentRequest",
        summary="Read a consent request",
        parameters=[_parameter("consent")],
        responses={200: ConsentRequest, 410: RedirectTo},
    )
    def get(self, request):
        challenge = _challenge(request, "consent")
        return Response(consent_request_json(provider.consent_request(challenge), challenge))


class ConsentAcceptApi(_ProviderApi):
    @extend_schema(
        operation_id="acceptOAuth2ConsentRequest",
        summary="Accept a consent request",
        description="Body: `grant_scope` (of the requested ones), `grant_access_token_audience`, "
        "`remember`, `remember_for`, `session.id_token` (extra ID token claims), `session.access_token`.",
        parameters=[_parameter("consent")],
        request=AcceptConsent,
        responses={200: RedirectTo, 410: RedirectTo},
    )
    @transaction.atomic
    def put(self, request):
        flow, redirect_to = provider.consent_accept(_challenge(request, "consent"), request.data)
        result = AuthorizationFlow.objects.get(pk=flow.pk).consent_result
        consent_grant(
            user=user_for_subject(flow.consent_subject),
            client=flow.client,
            scopes=result["grant_scope"],
            remember=result["remember"],
            remember_for=result["remember_for"],
        )
        return Response({"redirect_to": redirect_to})


class ConsentRejectApi(_ProviderApi):
    @extend_schema(
        operation_id="rejectOAuth2ConsentRequest",
        summary="Reject a consent request",
        parameters=[_parameter("consent")],
        request=Reject,
        responses={200: RedirectTo, 410: RedirectTo},
    )
    def put(self, request):
        return Response(
            {"redirect_to": provider.consent_reject(_challenge(request, "consent"), request.data)}
        )


def _stamp(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class LogoutRequestApi(_ProviderApi):
    @extend_schema(
        operation_id="getOAuth2LogoutRequest",
        summary="Read a logout request",
        parameters=[_parameter("logout")],
        responses={200: LogoutRequest, 410: RedirectTo},
    )
    def get(self, request):
        challenge = _challenge(request, "logout")
        flow = provider.logout_request(challenge)
        return Response(
            {
                "challenge": challenge,
                "subject": flow.subject,
                "sid": flow.session_id,
                "client": client_json(flow.client) if flow.client else None,
                "request_url": settings.CIAM_ISSUER + flow.request_path,
                "rp_initiated": True,
                "requested_at": _stamp(flow.created_at),
                "expires_at": _stamp(flow.expires_at),
            }
        )


class LogoutAcceptApi(_ProviderApi):
    @extend_schema(
        operation_id="acceptOAuth2LogoutRequest",
        summary="Accept a logout request",
        description="The browser goes to `redirect_to`; the session ends there.",
        parameters=[_parameter("logout")],
        request=None,
        responses={200: RedirectTo, 410: RedirectTo},
    )
    def put(self, request):
        return Response({"redirect_to": provider.logout_decide(_challenge(request, "logout"), accept=True)})


class LogoutRejectApi(_ProviderApi):
    @extend_schema(
        operation_id="rejectOAuth2LogoutRequest",
        summary="Reject a logout request",
        description="The session stays; the logout app shows what it wants (204).",
        parameters=[_parameter("logout")],
        request=None,
        responses={204: None, 410: RedirectTo},
    )
    def put(self, request):
        provider.logout_decide(_challenge(request, "logout"), accept=False)
        return Response(status=204)


class DeviceAcceptApi(_ProviderApi):
    @extend_schema(
        operation_id="acceptUserCodeRequest",
        summary="Accept a device's user code",
        description="Body: `user_code`, as the person typed it. A wrong code is a 400 (and counted: "
        "after 10 the request must start again); the browser then continues with login and consent.",
        parameters=[_parameter("device")],
        request=inline_serializer(
            "AcceptDeviceUserCodeRequest", fields={"user_code": serializers.CharField()}
        ),
        responses={200: RedirectTo, 410: RedirectTo},
    )
    def put(self, request):
        redirect_to = provider.device_accept(
            _challenge(request, "device"), request.data, ip_address=client_ip(request)
        )
        return Response({"redirect_to": redirect_to})
