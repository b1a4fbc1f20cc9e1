"""Hydra's keyset pagination: `page_size` (default 100, at most 500), an opaque `page_token`
that expires after an hour, and a `Link` header with rel="first" and rel="next"."""

import json
from urllib.parse import urlencode

from cryptography.fernet import InvalidToken
from rest_framework.exceptions import ValidationError

from ciam.lib.crypto import fernet

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
PAGE_TOKEN_LIFESPAN = 3600


_PURPOSE = "api-page-token"


def _encode(after: str) -> str:
    """Opaque (encrypted and authenticated), so it reveals nothing about row keys."""
    return fernet(_PURPOSE).encrypt(json.dumps({"after": after}).encode()).decode()


def page_size(request) -> int:
    raw = request.query_params.get("page_size")
    if raw in (None, ""):
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError as exc:
        raise ValidationError({"page_size": "Must be a whole number."}) from exc
    if size < 1:
        raise ValidationError({"page_size": "Must be at least 1."})
    return min(size, MAX_PAGE_SIZE)


def after_key(request):
    token = request.query_params.get("page_token")
    if not token:
        return None
    try:
        return json.loads(fernet(_PURPOSE).decrypt(token.encode(), ttl=PAGE_TOKEN_LIFESPAN))["after"]
    except (InvalidToken, KeyError, TypeError, ValueError) as exc:
        raise ValidationError(
            {"page_token": "Invalid or expired page token; do not persist page tokens."}
        ) from exc


def paginate(request, queryset, *, key: str = "pk"):
    """One page of `queryset` (ordered by `key`) and the Link header for it."""
    size = page_size(request)
    after = after_key(request)
    if after is not None:
        queryset = queryset.filter(**{f"{key}__gt": after})
    rows = list(queryset.order_by(key)[: size + 1])
    has_next = len(rows) > size
    rows = rows[:size]
    params = {k: v for k, v in request.query_params.items() if k not in {"page_token", "page_size"}}
    base = request.path
    links = [f'<{base}?{urlencode({**params, "page_size": size})}>; rel="first"']
    if has_next:
        token = _encode(str(getattr(rows[-1], key)))
        links.append(f'<{base}?{urlencode({**params, "page_size": size, "page_token": token})}>; rel="next"')
    return rows, ",".join(links)
