"""Reading a JSON request body: the one parser behind the admin API and dynamic registration.

Beyond `json.loads`, it refuses what would fail later, deep inside: nesting deep enough to
exhaust the stack (a RecursionError, so a 500, in the parser or in any code that walks the
value), NaN and Infinity (not JSON, RFC 8259 §6), and a NUL character in any string or key,
which PostgreSQL cannot store in text or jsonb while SQLite can (so the same body would be
accepted on one database and crash on the other). Each refusal says where.
"""

import json
from typing import Any

MAX_DEPTH = 32
NUL, ESCAPED_NUL = "\x00", "\\u0000"


class JsonBodyError(ValueError):
    """The body cannot be accepted; the message says why (and where)."""


def _not_json(constant: str):
    raise ValueError(f"{constant} is not a JSON value")


def _refusal(value: Any) -> str | None:
    """Why this parsed value cannot be accepted, naming the place (`metadata.key`, `contacts.0`)."""
    stack: list[tuple[str, Any, int]] = [("", value, 0)]
    while stack:
        path, item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"The body is nested more than {MAX_DEPTH} levels deep."
        if isinstance(item, str):
            if NUL in item:
                return f"{path or 'body'}: Null characters are not allowed."
        elif isinstance(item, dict):
            for key, child in item.items():
                place = f"{path}.{key}" if path else key
                if NUL in key:
                    return f"{place.replace(NUL, ESCAPED_NUL)}: Null characters are not allowed in keys."
                stack.append((place, child, depth + 1))
        elif isinstance(item, list):
            stack.extend(
                (f"{path}.{i}" if path else str(i), child, depth + 1) for i, child in enumerate(item)
            )
    return None


def parse_json(raw: bytes) -> Any:
    """The JSON value of `raw` (UTF-8), or JsonBodyError saying what is wrong with it."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_not_json)
    except RecursionError:
        raise JsonBodyError(f"The body is nested more than {MAX_DEPTH} levels deep.") from None
    except UnicodeDecodeError:
        raise JsonBodyError("The body is not UTF-8 (RFC 8259 §8.1).") from None
    except ValueError as exc:
        raise JsonBodyError(f"The body is not valid JSON: {exc}.") from None
    problem = _refusal(value)
    if problem:
        raise JsonBodyError(problem)
    return value
