"""SIGKILL under load loses nothing that was acknowledged and leaves nothing half-written.

The production server (uWSGI) issues tokens and creates clients from several threads; a
worker is killed with SIGKILL, then the whole server is. After a restart, every token that was
returned to a caller still introspects as active, every client the API acknowledged exists, and
every client row in the database is whole (it has its audit event: both commit together or not
at all).
"""

import json
import os
import signal
import threading
import time

import pytest
import requests

from ciam.api.services import admin_token_create
from ciam.audit.models import AuditEvent
from clients.models import Client
from tests.helpers import Server, basic, on_postgresql, workers_of

pytestmark = [
    pytest.mark.django_db(transaction=True),
    on_postgresql("the production server on PostgreSQL"),
]


class Load:
    """Callers that keep asking until told to stop; they remember only acknowledged results."""

    def __init__(self, base: str, auth: dict, admin: str):
        self.base, self.auth, self.admin = base, auth, admin
        self.tokens: list[str] = []
        self.clients: list[str] = []
        self.failures = 0
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._tokens) for _ in range(3)]
        self.threads.append(threading.Thread(target=self._clients))
        for thread in self.threads:
            thread.start()

    def _tokens(self):
        web = requests.Session()
        while not self.stopping.is_set():
            try:
                answer = web.post(
                    f"{self.base}/oauth2/token",
                    data={"grant_type": "client_credentials"},
                    headers=self.auth,
                    timeout=5,
                )
            except requests.RequestException:
                self.failures += 1
                web = requests.Session()
                continue
            if answer.status_code == 200:
                self.tokens.append(answer.json()["access_token"])

    def _clients(self):
        n = 0
        while not self.stopping.is_set():
            n += 1
            try:
                answer = requests.post(
                    f"{self.base}/admin/clients",
                    data=json.dumps(
                        {
                            "client_name": f"crash-{n}",
                            "redirect_uris": [f"https://crash{n}.example.com/cb"],
                            "scope": "openid",
                        }
                    ),
                    headers={"Authorization": f"Bearer {self.admin}", "Content-Type": "application/json"},
                    timeout=5,
                )
            except requests.RequestException:
                self.failures += 1
                continue
            if answer.status_code == 201:
                self.clients.append(answer.json()["client_id"])

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)


def test_sigkill_under_load_loses_no_acknowledged_token_or_client(m2m_client):
    auth = {"Authorization": basic(m2m_client.client.client_id, m2m_client.client_secret)}
    admin = admin_token_create(actor=None, name="crash test")[1]
    server = Server(workers=2, CIAM_STATS_FLUSH_SECONDS="0")
    load = Load(server.url, auth, admin)
    try:
        time.sleep(2)
        victims = workers_of(server.process.pid)
        assert len(victims) == 2
        os.kill(victims[0], signal.SIGKILL)  # one worker dies mid-request; the master replaces it
        time.sleep(2)
        for pid in [server.process.pid, *workers_of(server.process.pid)]:
            os.kill(pid, signal.SIGKILL)  # then everything, with no chance to clean up
        server.process.wait(timeout=10)
        time.sleep(0.5)
    finally:
        load.stop()
        if server.process.poll() is None:
            server.stop()

    assert len(load.tokens) > 50 and load.clients, (len(load.tokens), len(load.clients))
    print(
        f"acknowledged: {len(load.tokens)} tokens, {len(load.clients)} clients; {load.failures} failed calls"
    )
    restarted = Server(workers=2)
    try:
        web = requests.Session()
        inactive = [
            token
            for token in load.tokens
            if not web.post(
                f"{restarted.url}/oauth2/introspect", data={"token": token}, headers=auth, timeout=10
            ).json()["active"]
        ]
        assert inactive == [], f"{len(inactive)} of {len(load.tokens)} acknowledged tokens were lost"
        for client_id in load.clients:
            answer = requests.get(
                f"{restarted.url}/admin/clients/{client_id}",
                headers={"Authorization": f"Bearer {admin}"},
                timeout=10,
            )
            assert answer.status_code == 200, client_id
    finally:
        restarted.stop()

    made = Client.objects.filter(name__startswith="crash-")
    audited = set(AuditEvent.objects.filter(event="client.created").values_list("client_id", flat=True))
    assert made.count() >= len(load.clients)  # a request killed after its commit may be unanswered
    for client in made:
        assert client.redirect_uris == f"https://{client.name.replace('-', '')}.example.com/cb"
        assert client.client_id in audited, f"{client.client_id} has no audit event: half-written"
