import io

from django.conf import settings
from rest_framework import exceptions, parsers


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "request_too_large"


class BoundedJSONParser(parsers.JSONParser):
    """JSON bodies up to CIAM_API_MAX_BODY bytes; DRF's parser would read any size."""

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
        return super().parse(io.BytesIO(data), media_type, parser_context)
