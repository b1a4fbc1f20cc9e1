from django.conf import settings
from rest_framework import exceptions, parsers

from ciam.lib.jsonbody import JsonBodyError, parse_json


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "request_too_large"


class BoundedJSONParser(parsers.JSONParser):
    """JSON bodies up to CIAM_API_MAX_BODY bytes (DRF's parser would read any size), read by
    ciam.lib.jsonbody: no stack-deep nesting, no NaN, no NUL character anywhere."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            length = 0
        if length > settings.CIAM_API_MAX_BODY:
            raise RequestTooLarge()
        data = stream.read(settings.CIAM_API_MAX_BODY + 1) if stream is not None else b""
        if len(data) > settings.CIAM_API_MAX_BODY:
            raise RequestTooLarge()
        try:
            return parse_json(data)
        except JsonBodyError as exc:
            raise exceptions.ParseError(str(exc)) from None
