"""Admin REST API: introspection, token and consent revocation, signing keys, identities, version."""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import parsers, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ciam.accounts.models import User
from ciam.accounts.services import (
    user_create,
    user_delete,
    user_lock,
    user_set_active,
    user_set_password,
    user_unlock,
    user_update,
)
from ciam.api.pagination import paginate
from ciam.api.views import AdminApiView
from ciam.console.services import signing_key_rotate
from ciam.oauth.introspection import introspect
from ciam.oauth.keys import jwks
from ciam.oauth.models import SigningKey
from clients.models import Client
from clients.serializers import client_json
from clients.services import client_tokens_revoke
from consent.models import Consent
from consent.services import consent_revoke

# Hydra's key sets; here one set of keys signs both ID tokens and JWT access tokens.
KEY_SETS = {"hydra.openid.id-token", "hydra.jwt.access-token", "ciam.signing"}

IntrospectionSerializer = inline_serializer(
    "IntrospectedOAuth2Token",
    fields={
        "active": serializers.BooleanField(),
        "client_id": serializers.CharField(required=False),
        "scope": serializers.CharField(required=False),
        "sub": serializers.CharField(required=False),
        "exp": serializers.IntegerField(required=False),
        "iat": serializers.IntegerField(required=False),
        "nbf": serializers.IntegerField(required=False),
        "iss": serializers.CharField(required=False),
        "aud": serializers.ListField(child=serializers.CharField(), required=False),
        "token_type": serializers.CharField(required=False),
        "token_use": serializers.CharField(required=False),
    },
)


class AdminIntrospectApi(AdminApiView):
    parser_classes = [parsers.FormParser]

    @extend_schema(
        operation_id="introspectOAuth2Token",
        request=inline_serializer(
            "IntrospectForm",
            fields={"token": serializers.CharField(), "scope": serializers.CharField(required=False)},
        ),
        responses={200: IntrospectionSerializer},
    )
    def post(self, request):
        token = request.data.get("token")
        if not token or not isinstance(token, str):
            raise serializers.ValidationError({"token": "This field is required."})
        required = (request.data.get("scope") or "").split()
        answer = introspect(
            token,
            token_type_hint=request.data.get("token_type_hint", ""),
            caller=None,
            required_scopes=required,
        )
        return Response(answer, headers={"Cache-Control": "no-store"})


class ClientTokensApi(AdminApiView):
    @extend_schema(
        operation_id="deleteOAuth2Token",
        parameters=[OpenApiParameter("client_id", str, required=True)],
        responses={204: None},
    )
    def delete(self, request):
        """Revoke every access *and* refresh token of a client (Hydra revokes access tokens only)."""
        client_id = request.query_params.get("client_id")
        if not client_id:
            raise serializers.ValidationError({"client_id": "This query parameter is required."})
        client_tokens_revoke(client=get_object_or_404(Client, client_id=client_id), **self.who())
        return Response(status=status.HTTP_204_NO_CONTENT)


def _consent_session(consent: Consent) -> dict:
    handled = consent.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "consent_request_id": str(consent.pk),
        "consent_request": {
            "challenge": str(consent.pk),
            "consent_request_id": str(consent.pk),
            "subject": str(consent.user_id),
            "client": client_json(consent.client),
            "requested_scope": consent.scopes,
            "requested_access_token_audience": list(consent.client.audience),
            "skip": consent.remember,
        },
        "grant_scope": consent.scopes,
        "grant_access_token_audience": list(consent.client.audience),
        "remember": consent.remember,
        "remember_for": 0,
        "handled_at": handled,
        "session": {"access_token": {}, "id_token": {}},
    }


def _subject(request) -> User:
    subject = request.query_params.get("subject")
    if not subject:
        raise serializers.ValidationError({"subject": "This query parameter is required."})
    user = User.objects.filter(Q(email=subject.lower())).first()
    if user is None:
        try:
            user = User.objects.filter(pk=subject).first()
        except DjangoValidationError:
            user = None
    return user


class ConsentSessionsApi(AdminApiView):
    @extend_schema(
        operation_id="listOAuth2ConsentSessions",
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
        rows, link = paginate(request, Consent.objects.filter(user=user).select_related("client"))
        return Response([_consent_session(c) for c in rows], headers={"Link": link})

    @extend_schema(
        operation_id="revokeOAuth2ConsentSessions",
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


class KeySetApi(AdminApiView):
    def _check(self, set_name: str) -> None:
        if set_name not in KEY_SETS:
            from django.http import Http404

            raise Http404(f"Unknown key set '{set_name}'; this server has: {', '.join(sorted(KEY_SETS))}.")

    @extend_schema(
        operation_id="getJsonWebKeySet",
        responses={
            200: inline_serializer(
                "JsonWebKeySet", fields={"keys": serializers.ListField(child=serializers.DictField())}
            )
        },
    )
    def get(self, request, set_name):
        """The set's public keys (private parts are never returned)."""
        self._check(set_name)
        return Response(jwks())

    @extend_schema(
        operation_id="createJsonWebKeySet",
        request=inline_serializer(
            "CreateJsonWebKeySet",
            fields={
                "alg": serializers.ChoiceField(choices=["RS256", "ES256"]),
                "kid": serializers.CharField(required=False),
                "use": serializers.CharField(required=False),
            },
        ),
        responses={
            201: inline_serializer(
                "JsonWebKeySetCreated", fields={"keys": serializers.ListField(child=serializers.DictField())}
            )
        },
    )
    def post(self, request, set_name):
        """Rotate: a new key signs from now on; earlier ones stay published until their tokens expire."""
        self._check(set_name)
        body = request.data if isinstance(request.data, dict) else {}
        algorithm = body.get("alg") or None
        if algorithm is not None and algorithm not in SigningKey.Algorithm.values:
            raise serializers.ValidationError({"alg": "Supported: RS256, ES256."})
        if body.get("use") not in (None, "", "sig"):
            raise serializers.ValidationError({"use": "Only signing keys (sig) are supported."})
        key = signing_key_rotate(actor=request.user, algorithm=algorithm)
        return Response({"keys": [key.public_jwk]}, status=status.HTTP_201_CREATED)


# --- Identities ----------------------------------------------------------------------------------


def identity_json(user: User) -> dict:
    """An identity; never a password or its hash."""

    def stamp(value):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None

    return {
        "id": str(user.pk),
        "email": user.email,
        "name": user.name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "email_verified": user.email_verified,
        "is_staff": user.is_staff,
        "state": "active" if user.is_active else "inactive",
        "locked": bool(user.locked_until),
        "created_at": stamp(user.date_joined),
        "updated_at": stamp(user.updated_at),
        "last_login": stamp(user.last_login),
    }


class IdentitySerializer(serializers.Serializer):
    email = serializers.EmailField(required=False, max_length=254)
    password = serializers.CharField(required=False, write_only=True, max_length=1024, trim_whitespace=False)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    given_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    family_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    email_verified = serializers.BooleanField(required=False)
    is_staff = serializers.BooleanField(required=False)
    state = serializers.ChoiceField(choices=["active", "inactive"], required=False)
    locked = serializers.BooleanField(required=False)

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields) - {"id", "created_at", "updated_at", "last_login"}
        if unknown:
            raise serializers.ValidationError(dict.fromkeys(sorted(unknown), "Unknown field."))
        return attrs


def _validated(data, *, partial: bool) -> dict:
    if not isinstance(data, dict):
        raise serializers.ValidationError({"": "The body must be a JSON object."})
    serializer = IdentitySerializer(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class IdentityListApi(AdminApiView):
    @extend_schema(
        operation_id="listIdentities",
        parameters=[
            OpenApiParameter("page_size", int),
            OpenApiParameter("page_token", str),
            OpenApiParameter("credentials_identifier", str, description="Exact e-mail."),
        ],
        responses={200: IdentitySerializer(many=True)},
    )
    def get(self, request):
        users = User.objects.all()
        if request.query_params.get("credentials_identifier"):
            users = users.filter(email=request.query_params["credentials_identifier"].strip().lower())
        rows, link = paginate(request, users)
        return Response([identity_json(u) for u in rows], headers={"Link": link})

    @extend_schema(
        operation_id="createIdentity", request=IdentitySerializer, responses={201: IdentitySerializer}
    )
    def post(self, request):
        data = _validated(request.data, partial=False)
        if not data.get("email"):
            raise serializers.ValidationError({"email": "This field is required."})
        user = user_create(
            actor=request.user,
            email=data["email"],
            password=data.get("password"),
            name=data.get("name", ""),
            is_staff=data.get("is_staff", False),
            email_verified=data.get("email_verified", False),
        )
        return Response(
            identity_json(user),
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/admin/identities/{user.pk}"},
        )


class IdentityDetailApi(AdminApiView):
    @extend_schema(operation_id="getIdentity", responses={200: IdentitySerializer})
    def get(self, request, identity_id):
        return Response(identity_json(get_object_or_404(User, pk=identity_id)))

    @extend_schema(
        operation_id="patchIdentity", request=IdentitySerializer, responses={200: IdentitySerializer}
    )
    def patch(self, request, identity_id):
        user = get_object_or_404(User, pk=identity_id)
        data = _validated(request.data, partial=True)
        if "email" in data and data["email"].lower() != user.email:
            raise serializers.ValidationError({"email": "The e-mail address cannot be changed."})
        simple = {
            k: data[k]
            for k in ("name", "given_name", "family_name", "email_verified", "is_staff")
            if k in data
        }
        if simple:
            user_update(actor=request.user, user=user, **simple)
        if "password" in data:
            user_set_password(actor=request.user, user=user, password=data["password"])
        if "state" in data:
            user_set_active(actor=request.user, user=user, active=data["state"] == "active")
        if "locked" in data:
            (user_lock if data["locked"] else user_unlock)(actor=request.user, user=user)
        user.refresh_from_db()
        return Response(identity_json(user))

    @extend_schema(operation_id="deleteIdentity", responses={204: None})
    def delete(self, request, identity_id):
        user_delete(actor=request.user, user=get_object_or_404(User, pk=identity_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class VersionApi(APIView):
    """GET /version (public, like /health) and GET /admin/version (admin token)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="getVersion",
        responses={200: inline_serializer("Version", fields={"version": serializers.CharField()})},
    )
    def get(self, request):
        try:
            number = package_version("ciam")
        except PackageNotFoundError:
            number = "0+unknown"
        return Response({"version": f"v{number}"})


class AdminVersionApi(AdminApiView):
    @extend_schema(
        operation_id="getAdminVersion",
        responses={200: inline_serializer("AdminVersion", fields={"version": serializers.CharField()})},
    )
    def get(self, request):
        return VersionApi().get(request)
