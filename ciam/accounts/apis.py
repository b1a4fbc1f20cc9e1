"""Admin REST API for identities (/admin/identities): list, create, read, update, delete; and
their second factors (/admin/identities/{id}/credentials/{type}): read, reset."""

import re
import uuid

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from ciam.accounts.factors import CREDENTIAL_TYPES, credentials_of, credentials_reset
from ciam.accounts.models import User
from ciam.accounts.selfservice import recovery_link
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
        # Kratos' shapes: the address, whether it is verified, and that recovery goes through it.
        "verifiable_addresses": [
            {
                "value": user.email,
                "via": "email",
                "verified": user.email_verified,
                "status": "completed" if user.email_verified else "pending",
            }
        ],
        "recovery_addresses": [{"value": user.email, "via": "email"}],
    }


# Fields of identity_json a body may echo back (accepted when unchanged, never written).
READ_ONLY = frozenset(
    {"id", "created_at", "updated_at", "last_login", "verifiable_addresses", "recovery_addresses"}
)


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
    verifiable_addresses = serializers.ListField(child=serializers.DictField(), read_only=True)
    recovery_addresses = serializers.ListField(child=serializers.DictField(), read_only=True)

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields) - READ_ONLY
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
        summary="List identities",
        description=(
            "The people with an account (Kratos' identity shape), paginated with a Link header; "
            "credentials_identifier finds one by exact e-mail address."
        ),
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
        operation_id="createIdentity",
        summary="Create an identity",
        description=(
            "Create a person's account from traits (email, name) and, optionally, a password credential. 409"
            " if the e-mail address is already used."
        ),
        request=IdentitySerializer,
        responses={201: IdentitySerializer},
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
            given_name=data.get("given_name", ""),
            family_name=data.get("family_name", ""),
            is_staff=data.get("is_staff", False),
            email_verified=data.get("email_verified", False),
        )
        return Response(
            identity_json(user),
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/admin/identities/{user.pk}"},
        )


class IdentityDetailApi(AdminApiView):
    @extend_schema(
        operation_id="getIdentity",
        summary="Read an identity",
        description=(
            "One person's account by its ID: traits, state (active or inactive) and timestamps. No "
            "credential is ever returned."
        ),
        responses={200: IdentitySerializer},
    )
    def get(self, request, identity_id):
        return Response(identity_json(get_object_or_404(User, pk=identity_id)))

    @extend_schema(
        operation_id="patchIdentity",
        summary="Change an identity with JSON Patch",
        description=(
            "RFC 6902 JSON Patch on the identity's traits and state (active/inactive). Deactivating ends the"
            " person's sessions and revokes their tokens."
        ),
        request=IdentitySerializer,
        responses={200: IdentitySerializer},
    )
    def patch(self, request, identity_id):
        user = get_object_or_404(User, pk=identity_id)
        data = _validated(request.data, partial=True)
        current = identity_json(user)
        changed_read_only = sorted(
            k for k in READ_ONLY if k in request.data and request.data[k] != current[k]
        )
        if changed_read_only:
            # Echoed back unchanged they are ignored; a change is refused, never 200 with nothing done.
            raise serializers.ValidationError(
                dict.fromkeys(changed_read_only, "Read-only: it cannot be changed.")
            )
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

    @extend_schema(
        operation_id="deleteIdentity",
        summary="Delete an identity",
        description=(
            "Delete the person's account, end their sessions and revoke their tokens and consents. Refused "
            "(409) for the last active administrator. 204 with no body."
        ),
        responses={204: None},
    )
    def delete(self, request, identity_id):
        user_delete(actor=request.user, user=get_object_or_404(User, pk=identity_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


_GO_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class RecoveryLinkApi(AdminApiView):
    @extend_schema(
        operation_id="createRecoveryLinkForIdentity",
        summary="Create a recovery link",
        description=(
            "Kratos' admin recovery: a single-use link for the identity to choose a new password, for an "
            "administrator to hand over (nothing is sent). expires_in is a duration such as 15m or 1h "
            "(default CIAM_RECOVERY_LIFESPAN, at most 24h)."
        ),
        request=inline_serializer(
            "RecoveryLinkRequest",
            fields={
                "identity_id": serializers.UUIDField(),
                "expires_in": serializers.CharField(required=False),
            },
        ),
        responses={
            200: inline_serializer(
                "RecoveryLink",
                fields={"recovery_link": serializers.CharField(), "expires_at": serializers.DateTimeField()},
            )
        },
    )
    def post(self, request):
        body = request.data if isinstance(request.data, dict) else None
        if body is None:
            raise serializers.ValidationError({"": "The body must be a JSON object."})
        unknown = sorted(set(body) - {"identity_id", "expires_in"})
        if unknown:
            raise serializers.ValidationError(dict.fromkeys(unknown, "Unknown field."))
        try:
            identity_id = uuid.UUID(str(body.get("identity_id")))
        except ValueError:
            raise serializers.ValidationError({"identity_id": "Must be an identity's ID (a UUID)."}) from None
        lifespan = None
        if body.get("expires_in") is not None:
            match = _GO_DURATION.match(str(body["expires_in"]))
            seconds = (
                sum(int(n or 0) * unit for n, unit in zip(match.groups(), (3600, 60, 1), strict=True))
                if match
                else 0
            )
            if not match or not 60 <= seconds <= 86400:
                raise serializers.ValidationError(
                    {"expires_in": "A duration from 1m to 24h, such as 15m or 1h."}
                )
            lifespan = seconds
        user = get_object_or_404(User, pk=identity_id)
        link, expires = recovery_link(user=user, actor=request.user, lifespan=lifespan)
        return Response({"recovery_link": link, "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ")})


_TYPE_PARAMETER = OpenApiParameter(
    "credential_type",
    str,
    OpenApiParameter.PATH,
    enum=list(CREDENTIAL_TYPES),
    description="totp (an authenticator app), passkey (WebAuthn credentials) or lookup_secret "
    "(recovery codes): Ory Kratos' names.",
)


def _credential_type(credential_type: str) -> str:
    if credential_type not in CREDENTIAL_TYPES:
        raise NotFound(
            f"Unknown credential type {credential_type!r}: use one of {', '.join(CREDENTIAL_TYPES)}."
        )
    return credential_type


class IdentityCredentialsApi(AdminApiView):
    @extend_schema(
        operation_id="getIdentityCredentials",
        summary="List an identity's credentials of one type",
        description=(
            "What the person has set up of one type of second factor, never a secret: the authenticator "
            "app (when set up, last use), passkeys (name, dates, backup flags, sign counter) or recovery "
            "codes (how many remain). An empty list when none."
        ),
        parameters=[_TYPE_PARAMETER],
        responses={
            200: inline_serializer(
                "IdentityCredentials",
                fields={
                    "type": serializers.CharField(),
                    "credentials": serializers.ListField(child=serializers.DictField()),
                },
            )
        },
    )
    def get(self, request, identity_id, credential_type):
        kind = _credential_type(credential_type)
        user = get_object_or_404(User, pk=identity_id)
        return Response({"type": kind, "credentials": credentials_of(user, kind)})

    @extend_schema(
        operation_id="deleteIdentityCredentials",
        summary="Reset an identity's credentials of one type",
        description=(
            "Remove every credential of this type (audited; the person is told by e-mail), e.g. when they "
            "lost their phone. Removing the last second factor also removes the recovery codes. 204, "
            "also when there was nothing to remove."
        ),
        parameters=[_TYPE_PARAMETER],
        responses={204: None},
    )
    def delete(self, request, identity_id, credential_type):
        kind = _credential_type(credential_type)
        user = get_object_or_404(User, pk=identity_id)
        credentials_reset(user=user, kind=kind, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
