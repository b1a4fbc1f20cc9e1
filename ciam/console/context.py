"""What every console page's frame needs to know (a template context processor)."""

from django.conf import settings
from django.http import HttpRequest

from ciam.accounts.mail import outbox_enabled


def console(request: HttpRequest) -> dict:
    # The Outbox (messages written to var/mail/) is a development aid: DEBUG only.
    return {"outbox_shown": settings.DEBUG and outbox_enabled()}
