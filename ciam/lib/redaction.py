"""No token or secret reaches a log line, whatever the log level or the handlers configured.

oauthlib logs, at DEBUG, the refresh token it validates and the whole token response it issues.
Rather than trust every library's log calls, every log record is redacted when it is made (a log
record factory, so it holds for any handler an operator configures): our credentials carry
recognisable prefixes (`ciam_at_`, `ciam_rt_`, ...) and JWTs have a recognisable shape, so both
are cut down to their prefix. Only records that pass their logger's level are made, so this costs
nothing on a quiet logger.

Django's template engine logs, at DEBUG, every variable a page leaves undefined, with the page's
whole context in the exception: that holds what the page shows, one-time secrets included (an
authenticator app's key, new recovery codes). Those records keep their message (the variable's
and the template's names) and lose the exception.
"""

import logging
import re

# ciam_at_ access, ciam_rt_ refresh, ciam_ac_ code, ciam_cs_ client secret, ciam_pat_ admin token,
# ciam_dc_ device code, ciam_rat_ registration access token.
_CREDENTIAL = re.compile(r"\b(ciam_(?:at|rt|ac|cs|pat|dc|rat)_)[A-Za-z0-9_\-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    if "ciam_" not in text and "eyJ" not in text:
        return text
    return _JWT.sub("eyJ" + REDACTED, _CREDENTIAL.sub(r"\1" + REDACTED, text))


def _redacting(factory):
    def make_record(*args, **kwargs):
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: leave it for logging to report as it always does
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.name == "django.template" and record.exc_info:
            record.exc_info, record.exc_text = None, None
        if record.exc_info and record.exc_info[0] is not None:
            # Formatters reuse exc_text when it is set: an exception's text is redacted too.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    make_record.ciam_redacting = True
    return make_record


def install() -> None:
    """Wrap the current log record factory (once)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "ciam_redacting", False):
        logging.setLogRecordFactory(_redacting(factory))
