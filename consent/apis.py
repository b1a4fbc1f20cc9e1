"""Admin REST API for consents: a subject's consent sessions (Ory Hydra v2's dialect)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from ciam.accounts.models import User
from ciam.accounts.services import sessions_end
from ciam.api.pagination import paginate
from ciam.api.views import AdminApiView
from clients.serializers import client_json
from consent.models import Consent
from consent.services import consent_revoke


def _consent_session(consent: Consent) -> dict:
    handled = consent.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "consent_request_id": str(consent.pk),
        "consent_request": {
            "challenge": str(consent.pk),
            "consent_request_id": str(consent.pk),
            "subject": consent.user.oidc_subject,
            "client": client_json(consent.client),
            "requested_scope": consent.scopes,
            "requested_access_token_audience": list(consent.client.audience),
            "skip": consent.remember,
        },
        "grant_scope": consent.scopes,
        "grant_access_token_audience": list(consent.client.audience),
        "remember": consent.remember,
        "remember_for": int((consent.remember_until - consent.granted_at).total_seconds())
        if consent.remember_until
        else 0,
        "handled_at": handled,
        "session": {"access_token": {}, "id_token": {}},
    }


def _subject(request) -> User | None:
    subject = request.query_params.get("subject")
    if not subject:
        raise serializers.ValidationError({"subject": "This query parameter is required."})
    # A login app's subject first (its `sub`), then an e-mail address, then the ID.
    user = User.objects.filter(subject=subject).first() or User.objects.filter(email=subject.lower()).first()
    if user is None:
        try:
            user = User.objects.filter(pk=subject).first()
        except DjangoValidationError:
            user = None
    return user


class ConsentSessionsApi(AdminApiView):
    @extend_schema(
        operation_id="listOAuth2ConsentSessions",
        summary="List a person's consents",
        description=(
            "The clients a subject has allowed, with the scopes and audience granted and when; filter to one"
            " client with client."
        ),
        parameters=[
            OpenApiParameter(
                "subject", str, required=True, description="The person's subject (ID), or e-mail address."
            ),
            OpenApiParameter("page_size", int),
            OpenApiParameter("page_token", str),
        ],
        responses={
            200: inline_serializer(
                "OAuth2ConsentSession",
                fields={
                    "consent_request_id": serializers.CharField(),
                    "grant_scope": serializers.ListField(child=serializers.CharField()),
                    "remember": serializers.BooleanField(),
                    "handled_at": serializers.DateTimeField(),
                },
                many=True,
            )
        },
    )
    def get(self, request):
        user = _subject(request)
        if user is None:
            return Response([], headers={"Link": ""})
        rows, link = paginate(request, Consent.objects.filter(user=user).select_related("client", "user"))
        return Response([_consent_session(c) for c in rows], headers={"Link": link})

    @extend_schema(
        operation_id="revokeOAuth2ConsentSessions",
        summary="Revoke consents",
        parameters=[
            OpenApiParameter("subject", str, required=True),
            OpenApiParameter("client", str),
            OpenApiParameter("all", bool),
        ],
        responses={204: None},
    )
    def delete(self, request):
        """Revoke a subject's consent to one client, or (all=true) to every client, with the tokens."""
        client_id = request.query_params.get("client")
        revoke_all = request.query_params.get("all") == "true"
        if bool(client_id) == revoke_all:
            raise serializers.ValidationError(
                {"": "Invalid combination of query parameters: give subject with either client or all=true."}
            )
        user = _subject(request)
        if user is not None:
            consents = Consent.objects.filter(user=user).select_related("client")
            if client_id:
                consents = consents.filter(client__client_id=client_id)
            for consent in consents:
                consent_revoke(user=user, client=consent.client, **self.who())
        return Response(status=status.HTTP_204_NO_CONTENT)


class LoginSessionsApi(AdminApiView):
    @extend_schema(
        operation_id="revokeOAuth2LoginSessions",
        summary="End a person's sign-in sessions",
        description="Every session of `subject`, or the one login session `sid`. Tokens stay valid; "
        "the person must sign in again for new ones.",
        parameters=[
            OpenApiParameter(
                "subject", str, description="The person's subject (ID, login app subject or e-mail)."
            ),
            OpenApiParameter("sid", str, description="A login session ID (the ID tokens' `sid`)."),
        ],
        responses={204: None},
    )
    def delete(self, request):
        sid = (request.query_params.get("sid") or "")[:64]
        user = None
        if request.query_params.get("subject") or not sid:
            user = _subject(request)
            if user is None:
                return Response(status=status.HTTP_204_NO_CONTENT)  # nobody: nothing to end (as Hydra)
        sessions_end(actor=request.user, user=user, sid=sid)
        return Response(status=status.HTTP_204_NO_CONTENT)
