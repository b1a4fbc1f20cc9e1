"""Admin REST API for clients, in Ory Hydra v2's dialect (paths, JSON, status codes)."""

import jsonpatch
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from ciam.api.pagination import paginate
from ciam.api.views import AdminApiView
from clients.models import Client
from clients.rules import CLIENT_FIELDS
from clients.serializers import READ_ONLY, ClientSerializer, JsonPatchOperationSerializer, client_json
from clients.services import (
    client_create,
    client_delete,
    client_secret_rotate,
    client_set_active,
    client_tokens_revoke,
    client_update,
)

PATCHABLE_OPS = {"add", "remove", "replace"}


def _valid(data, *, instance=None) -> ClientSerializer:
    body = ClientSerializer(instance=instance, data=data)
    body.is_valid(raise_exception=True)
    return body


def _set_enabled(client: Client, body: ClientSerializer, who: dict) -> Client:
    """Apply the body's `enabled`, if it says something new (audited as client.enabled/disabled)."""
    enabled = body.validated_data.get("enabled")
    if enabled is None or enabled == client.is_active:
        return client
    return client_set_active(client=client, active=enabled, **who)


def _paths(operations: list[dict]) -> set[str]:
    """The top-level fields a JSON Patch touches."""
    return {op["path"].lstrip("/").split("/")[0] for op in operations}


class ClientListApi(AdminApiView):
    @extend_schema(
        operation_id="listOAuth2Clients",
        summary="List clients",
        description=(
            "Every OAuth2 client, newest first, paginated with a Link header (rel=next) carrying page_token;"
            " filter by exact client_name or owner. Secrets are never returned."
        ),
        parameters=[
            OpenApiParameter("page_size", int, description="Items per page (default 100, at most 500)."),
            OpenApiParameter("page_token", str, description="Opaque token from the Link header's rel=next."),
            OpenApiParameter("client_name", str, description="Exact client name."),
            OpenApiParameter("owner", str, description="Exact owner."),
        ],
        responses={200: ClientSerializer(many=True)},
    )
    def get(self, request):
        clients = Client.objects.all()
        for name, field in (("client_name", "name"), ("owner", "owner")):
            if request.query_params.get(name) is not None:
                clients = clients.filter(**{field: request.query_params[name]})
        rows, link = paginate(request, clients)
        return Response([client_json(c) for c in rows], headers={"Link": link})

    @extend_schema(
        operation_id="createOAuth2Client",
        summary="Create a client",
        description=(
            "Register a client from Hydra's OAuth2Client JSON. Omitted fields take their defaults; a "
            "confidential client's generated secret is returned in this answer only (or send client_secret "
            "to choose one, at least 24 characters). 400 names each field in error."
        ),
        request=ClientSerializer,
        responses={201: ClientSerializer},
    )
    def post(self, request):
        body = _valid(request.data)
        with transaction.atomic():
            result = client_create(
                client_id=body.validated_data.get("client_id"),
                client_secret=body.validated_data.get("client_secret"),
                **self.who(),
                **body.service_fields(),
            )
            client = _set_enabled(result.client, body, self.who())
        return Response(
            client_json(client, secret=result.client_secret),
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/admin/clients/{result.client.client_id}"},
        )


class ClientDetailApi(AdminApiView):
    def _client(self, client_id: str) -> Client:
        return get_object_or_404(Client, client_id=client_id)

    @extend_schema(
        operation_id="getOAuth2Client",
        summary="Read a client",
        description=(
            "One client by its client_id, as Hydra's OAuth2Client JSON, without its secret. 404 if there is "
            "no such client."
        ),
        responses={200: ClientSerializer},
    )
    def get(self, request, client_id):
        return Response(client_json(self._client(client_id)))

    @extend_schema(
        operation_id="setOAuth2Client",
        summary="Replace a client",
        request=ClientSerializer,
        responses={200: ClientSerializer},
    )
    def put(self, request, client_id):
        """Replace the client: fields not sent return to their defaults; the secret is kept unless sent."""
        client = self._client(client_id)
        body = _valid(request.data, instance=client)
        with transaction.atomic():
            result = client_update(
                client=client,
                client_secret=body.validated_data.get("client_secret"),
                **self.who(),
                **{**CLIENT_FIELDS, **body.service_fields()},
            )
            client = _set_enabled(result.client, body, self.who())
        return Response(client_json(client, secret=result.client_secret))

    @extend_schema(
        operation_id="patchOAuth2Client",
        summary="Change a client with JSON Patch",
        request=JsonPatchOperationSerializer(many=True),
        responses={200: ClientSerializer},
    )
    def patch(self, request, client_id):
        """RFC 6902 JSON Patch (add, remove, replace) on the client's JSON."""
        client = self._client(client_id)
        operations = request.data
        if not isinstance(operations, list) or not operations:
            raise serializers.ValidationError(
                {"": "The body must be a non-empty JSON Patch array (RFC 6902)."}
            )
        for index, op in enumerate(operations):
            if (
                not isinstance(op, dict)
                or op.get("op") not in PATCHABLE_OPS
                or not isinstance(op.get("path"), str)
            ):
                raise serializers.ValidationError(
                    {f"[{index}]": "Each operation needs op (add, remove or replace) and a path."}
                )
            if op["path"].rstrip("/") in {"/client_id", "/id"}:
                raise serializers.ValidationError({"client_id": "The client ID cannot be changed."})
        # A patch says what to change: one of a field that cannot change is refused, never
        # answered 200 with nothing done (a PUT may echo them back; they are ignored there).
        read_only = sorted(_paths(operations) & READ_ONLY)
        if read_only:
            raise serializers.ValidationError(dict.fromkeys(read_only, "Read-only: it cannot be changed."))
        # Read, patch and write under the row lock: two patches sent at once (each adding a
        # redirect URI, say) both land instead of the second overwriting the first.
        with transaction.atomic():
            client = Client.objects.select_for_update().get(pk=client.pk)
            document = client_json(client)
            try:
                patched = jsonpatch.apply_patch(document, operations)
            except (
                jsonpatch.JsonPatchException,
                jsonpatch.JsonPointerException,
                TypeError,
                ValueError,
            ) as exc:
                raise serializers.ValidationError({"": f"The patch cannot be applied: {exc}"}) from exc
            body = _valid(patched, instance=client)
            changed = {k: v for k, v in body.service_fields().items() if document.get(k) != v}
            secret = body.validated_data.get("client_secret")
            if changed or secret is not None or "enabled" not in _paths(operations):
                result = client_update(
                    client=client,
                    client_secret=secret,
                    expected_revision=client.revision,
                    **self.who(),
                    **changed,
                )
                client, secret = result.client, result.client_secret
            client = _set_enabled(client, body, self.who())
        return Response(client_json(client, secret=secret))

    @extend_schema(
        operation_id="deleteOAuth2Client",
        summary="Delete a client",
        description=(
            "Delete the client and revoke every token, code and consent it holds. 204 with no body; 404 if "
            "there is no such client."
        ),
        responses={204: None},
    )
    def delete(self, request, client_id):
        client_delete(client=self._client(client_id), **self.who())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClientSecretApi(AdminApiView):
    @extend_schema(
        operation_id="rotateOAuth2ClientSecret",
        summary="Rotate a client's secret",
        request=None,
        responses={200: ClientSerializer},
    )
    def post(self, request, client_id):
        """Generate a new secret (returned once); the old one stops working at once."""
        result = client_secret_rotate(client=get_object_or_404(Client, client_id=client_id), **self.who())
        return Response(client_json(result.client, secret=result.client_secret))


class ClientTokensApi(AdminApiView):
    @extend_schema(
        operation_id="deleteOAuth2Token",
        summary="Revoke a client's tokens",
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
