"""Hydra v2's login and consent provider API, for a login and consent app of the deployment's
own (ciam.oauth.provider holds the flow): read a login or consent request, accept or reject it;
every answer is `{"redirect_to": ...}`, a handled request 410 with `redirect_to`.

Paths are Hydra's (`/admin/oauth2/auth/requests/...`), and its legacy ones without `/admin`.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from ciam.accounts.services import user_for_subject
from ciam.api.views import AdminApiView
from ciam.oauth import provider
from ciam.oauth.models import AuthorizationFlow
from clients.serializers import client_json
from consent.services import consent_grant

RedirectTo = inline_serializer("OAuth2RedirectTo", fields={"redirect_to": serializers.CharField()})
Json = serializers.JSONField()


def _challenge(request, name: str) -> str:
    value = request.query_params.get(f"{name}_challenge") or request.query_params.get("challenge")
    if not value:
        raise ValidationError({f"{name}_challenge": ["This query parameter is required."]})
    return value


def _common(flow: AuthorizationFlow, challenge: str) -> dict:
    return {
        "challenge": challenge,
        "client": client_json(flow.client),  # never its secret
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
        responses={200: Json, 410: RedirectTo},
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
        request=Json,
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
        request=Json,
        responses={200: RedirectTo, 410: RedirectTo},
    )
    def put(self, request):
        return Response({"redirect_to": provider.login_reject(_challenge(request, "login"), request.data)})


class ConsentRequestApi(_ProviderApi):
    @extend_schema(
        operation_id="getOAuth2ConsentRequest",
        summary="Read a consent request",
        parameters=[_parameter("consent")],
        responses={200: Json, 410: RedirectTo},
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
        request=Json,
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
        )
        return Response({"redirect_to": redirect_to})


class ConsentRejectApi(_ProviderApi):
    @extend_schema(
        operation_id="rejectOAuth2ConsentRequest",
        summary="Reject a consent request",
        parameters=[_parameter("consent")],
        request=Json,
        responses={200: RedirectTo, 410: RedirectTo},
    )
    def put(self, request):
        return Response(
            {"redirect_to": provider.consent_reject(_challenge(request, "consent"), request.data)}
        )
