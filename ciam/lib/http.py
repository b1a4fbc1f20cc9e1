"""How JSON endpoints answer: one error shape, and no caching of anything that carries a credential."""

from typing import TypeVar

from django.http import HttpResponse, JsonResponse

Response = TypeVar("Response", bound=HttpResponse)


def no_store(response: Response) -> Response:
    """Forbid caching: token responses and errors (RFC 6749 §5.1), introspection, registrations."""
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def json_error(
    error: str, description: str, *, status: int = 400, headers: dict[str, str] | None = None
) -> JsonResponse:
    """`{"error": ..., "error_description": ...}` (RFC 6749 §5.2, and Hydra's error shape)."""
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return no_store(response)


class Conflict(Exception):
    """A write refused because the resource changed since the caller read it (HTTP 409)."""
