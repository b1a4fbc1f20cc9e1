"""Start the production server (gunicorn, DEBUG off) on the test database, as a deployment would."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return False


class Server:
    """One app process (gunicorn with `workers` workers) serving the test database."""

    def __init__(self, *, db_port: int | None = None, workers: int = 2, **env: str):
        """`db_port`: reach the database through a relay on 127.0.0.1:db_port instead."""
        db = connection.settings_dict
        host = "127.0.0.1" if db_port else db["HOST"] or "127.0.0.1"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CIAM_")},
            "DATABASE_URL": (
                f"postgres://{db['USER'] or 'postgres'}@{host}:{db_port or db['PORT'] or 5432}/{db['NAME']}"
            ),
            "DATABASE_CONN_MAX_AGE": "600",
            "DEBUG": "false",
            "SECRET_KEY": settings.SECRET_KEY,  # the client secrets' pepper derives from it
            "CIAM_ISSUER": self.url,
            "ALLOWED_HOSTS": "127.0.0.1",
            **env,
        }
        command = [str(Path(sys.executable).with_name("gunicorn")), "ciam.wsgi:application"]
        command += ["--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "--log-level", "warning"]
        self.process = subprocess.Popen(
            command, env=environment, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        if not wait_until(lambda: requests.get(f"{self.url}/health/alive", timeout=2).ok):
            self.stop()
            raise AssertionError(f"the server did not start:\n{self.output}")

    def stop(self) -> str:
        """Stop the server; return what it printed."""
        self.process.terminate()
        try:
            self.output, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.output, _ = self.process.communicate()
        return self.output
