"""ciam.audit.services: one row per change, in the change's transaction."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from ciam.audit.models import AuditEvent
from ciam.audit.services import audit_record

pytestmark = pytest.mark.django_db


def test_the_row_holds_what_was_recorded(user):
    before = timezone.now()
    event = audit_record(
        event="login.succeeded",
        actor=user,
        subject=user.email,
        ip_address="2001:db8::1",
        detail={"amr": ["pwd"]},
    )
    row = AuditEvent.objects.get(pk=event.pk)
    assert (row.event, row.actor_id, row.actor_label, row.subject) == (
        "login.succeeded",
        user.pk,
        user.email,
        user.email,
    )
    assert row.ip_address == "2001:db8::1" and row.detail == {"amr": ["pwd"]} and row.client_id == ""
    assert before <= row.at <= timezone.now() + timedelta(seconds=1)
    system = AuditEvent.objects.get(pk=audit_record(event="janitor.ran", actor_label="system").pk)
    assert system.actor_id is None and system.ip_address is None and system.detail == {}


def test_it_rolls_back_with_the_change_it_records(user):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(event="client.created", actor=user, client_id="c-1")
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.filter(event="client.created").exists()
