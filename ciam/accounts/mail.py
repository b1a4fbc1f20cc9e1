"""Messages to people: one layout, plain text and HTML, sent once the transaction that asked
for them has committed.

Where they go is the deployment's (settings: EMAIL_URL's SMTP server, or files in var/mail/
for `make run`, listed on the console's Outbox). A message that cannot be sent is tried
CIAM_MAIL_ATTEMPTS times, then logged (its kind, never its address, link or code) and dropped:
the flow it belongs to keeps its state, and the person can ask for it again."""

import logging
import smtplib
import time
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger("ciam.mail")


def send(*, to: str, kind: str, context: dict) -> None:
    """Render mail/<kind>.txt and mail/<kind>.html (their first line is the subject) and send
    it to `to` after the current transaction commits (at once outside one)."""
    context = {"site_name": settings.CIAM_SITE_NAME, **context}
    text = render_to_string(f"mail/{kind}.txt", context)
    subject, _, body = text.partition("\n")
    html = render_to_string(f"mail/{kind}.html", {**context, "subject": subject.strip()})
    message = EmailMultiAlternatives(subject.strip(), body.lstrip("\n"), settings.EMAIL_FROM, [to])
    message.attach_alternative(html, "text/html")
    transaction.on_commit(lambda: deliver(message, kind=kind))


def deliver(message: EmailMultiAlternatives, *, kind: str) -> bool:
    """Send `message`, trying CIAM_MAIL_ATTEMPTS times; False (and logged) if it never went."""
    attempts = settings.CIAM_MAIL_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            message.send()
        except (OSError, smtplib.SMTPException) as exc:
            logger.warning(
                "A %s message could not be sent (try %d of %d): %s",
                kind,
                attempt,
                attempts,
                type(exc).__name__,
            )
            if attempt < attempts:
                time.sleep(min(0.25 * 2**attempt, 2.0))
        else:
            return True
    logger.error("A %s message was not sent after %d tries; the person can ask for it again.", kind, attempts)
    return False


# --- The outbox of `make run` (messages written to var/mail/) ------------------------------------


@dataclass(frozen=True)
class Written:
    name: str
    to: str
    subject: str
    sent: datetime | None
    text: str
    html: str


def outbox_enabled() -> bool:
    return settings.EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend"


def outbox(limit: int = 50) -> list[Written]:
    """The latest messages written to var/mail/, newest first (each file holds one)."""
    folder = Path(settings.EMAIL_FILE_PATH)
    if not outbox_enabled() or not folder.is_dir():
        return []
    files = sorted(folder.glob("*.log"), key=lambda path: path.stat().st_mtime, reverse=True)[:limit]
    return [message for path in files if (message := _read(path)) is not None]


def outbox_message(name: str) -> Written | None:
    path = Path(settings.EMAIL_FILE_PATH) / name
    if not outbox_enabled() or path.name != name or path.suffix != ".log" or not path.is_file():
        return None
    return _read(path)


def _read(path: Path) -> Written | None:
    raw = path.read_bytes()
    # The file backend ends each message with a line of 79 dashes.
    raw = raw.rsplit(b"\n" + b"-" * 79, 1)[0]
    parsed = message_from_bytes(raw, policy=policy.default)
    if not parsed["Subject"]:
        return None
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    try:
        sent = parsedate_to_datetime(parsed["Date"]) if parsed["Date"] else None
    except (TypeError, ValueError):
        sent = None
    return Written(
        name=path.name,
        to=str(parsed["To"] or ""),
        subject=str(parsed["Subject"]),
        sent=sent,
        text=text.get_content() if text is not None else "",
        html=html.get_content() if html is not None else "",
    )
