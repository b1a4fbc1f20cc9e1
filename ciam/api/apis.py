"""Admin REST API endpoints of the protocol engine and of no entity app: introspection, signing
keys, the scope catalogue (an extension: Hydra has none), the version. (Clients, identities and
consent sessions have theirs in their own apps.)"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import parsers, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ciam.api.views import AdminApiView
from ciam.oauth.introspection import introspect
from ciam.oauth.keys import jwks, signing_key_rotate
from ciam.oauth.models import Scope, SigningKey
from ciam.oauth.scopes import PERSON_CLAIMS, clients_using, scope_create, scope_delete, scope_update

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
        "ext": serializers.JSONField(required=False, help_text="A consent app's session.access_token."),
    },
)


class AdminIntrospectApi(AdminApiView):
    parser_classes = [parsers.FormParser]

    @extend_schema(
        operation_id="introspectOAuth2Token",
        summary="Introspect a token",
        description=(
            "RFC 7662 introspection for administrators: active, scope, client_id, sub, exp and the rest for"
            ' a live access or refresh token; {"active": false} for anything else.'
        ),
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


class KeySetApi(AdminApiView):
    def _check(self, set_name: str) -> None:
        if set_name not in KEY_SETS:
            raise Http404(f"Unknown key set '{set_name}'; this server has: {', '.join(sorted(KEY_SETS))}.")

    @extend_schema(
        operation_id="getJsonWebKeySet",
        summary="Read a key set",
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
        summary="Rotate the signing keys",
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


class VersionApi(APIView):
    """GET /version (public, like /health) and GET /admin/version (admin token)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="getVersion",
        summary="Read the version",
        description="The running CIAM version; public and unauthenticated, like /health (Hydra's /version).",
        auth=[],
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
        summary="Read the version (admin)",
        description="The running CIAM version, for an authenticated administrator (Hydra's /admin/version).",
        responses={200: inline_serializer("AdminVersion", fields={"version": serializers.CharField()})},
    )
    def get(self, request):
        return VersionApi().get(request)


# --- The scope catalogue ------------------------------------------------------------------------


class ScopeSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="An RFC 6749 scope token; `ciam:` names are reserved.")
    description = serializers.CharField(
        required=False, allow_blank=True, help_text="What the consent page tells a person."
    )
    claims = serializers.ListField(
        child=serializers.ChoiceField(choices=PERSON_CLAIMS),
        required=False,
        help_text="The claims this scope releases in ID tokens and userinfo.",
    )
    builtin = serializers.BooleanField(read_only=True)
    privileged = serializers.BooleanField(
        read_only=True, help_text="Never granted to dynamically registered clients."
    )
    clients = serializers.IntegerField(read_only=True, help_text="How many clients are allowed it.")


def scope_json(scope: Scope) -> dict:
    return {
        "name": scope.name,
        "description": scope.description,
        "claims": scope.claims,
        "builtin": scope.builtin,
        "privileged": scope.privileged,
        "clients": clients_using(scope.name).count(),
    }


def _object(data) -> dict:
    if not isinstance(data, dict):
        raise serializers.ValidationError({"": "The body must be a JSON object."})
    return data


class ScopeListApi(AdminApiView):
    @extend_schema(
        operation_id="listScopes",
        summary="List the scope catalogue",
        description="Every scope clients may be given: built-in ones first, then by name. "
        "An extension of Hydra's API.",
        responses={200: ScopeSerializer(many=True)},
    )
    def get(self, request):
        return Response([scope_json(s) for s in Scope.objects.all()])

    @extend_schema(
        operation_id="createScope",
        description=(
            "A JSON object with name, and optionally description (what the consent page says) and claims "
            "(what the scope releases). 409 if the name is taken; 400 names a bad field."
        ),
        summary="Add a scope to the catalogue",
        request=ScopeSerializer,
        responses={201: ScopeSerializer},
    )
    def post(self, request):
        data = _object(request.data)
        scope = scope_create(
            name=data.get("name"),
            description=data.get("description", ""),
            claims=data.get("claims"),
            actor=request.user,
        )
        return Response(
            scope_json(scope),
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/admin/scopes/{scope.name}"},
        )


class ScopeDetailApi(AdminApiView):
    @extend_schema(
        operation_id="getScope",
        description=(
            "One scope of the catalogue: name, description, the claims it releases, whether it is built in, "
            "and how many clients may use it. 404 if it is not catalogued."
        ),
        summary="Read a scope",
        responses={200: ScopeSerializer},
    )
    def get(self, request, name):
        return Response(scope_json(get_object_or_404(Scope, name=name)))

    @extend_schema(
        operation_id="patchScope",
        summary="Change a scope's description or claims",
        description="A JSON object with `description` and/or `claims` (a built-in scope's description only).",
        request=ScopeSerializer,
        responses={200: ScopeSerializer},
    )
    def patch(self, request, name):
        scope = get_object_or_404(Scope, name=name)
        current = scope_json(scope)
        # Read-only fields echoed back unchanged are ignored; a change to one is refused.
        changes = {
            k: v
            for k, v in _object(request.data).items()
            if not (k in {"name", "builtin", "privileged", "clients"} and v == current[k])
        }
        return Response(scope_json(scope_update(scope=scope, actor=request.user, **changes)))

    @extend_schema(
        operation_id="deleteScope",
        summary="Delete a scope",
        description="Built-in scopes cannot be deleted (400); one still allowed to clients answers 409.",
        responses={204: None},
    )
    def delete(self, request, name):
        scope_delete(scope=get_object_or_404(Scope, name=name), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
