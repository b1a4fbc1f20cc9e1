"""Start the production server (uWSGI with deploy/uwsgi.ini, DEBUG off) on the test database, as a
deployment would."""

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def on_postgresql(why: str):
    """Skip unless the tests run on PostgreSQL (CI does), saying why they need it."""
    import pytest

    return pytest.mark.skipif(
        connection.vendor != "postgresql", reason=f"{why}: run with DATABASE_URL=postgres://... (CI does)"
    )


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


def workers_of(pid: int) -> list[int]:
    """The worker processes of a uWSGI master process (Linux)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


class Server:
    """One app server (a uWSGI master with `workers` processes) serving the test database."""

    def __init__(self, *, db_port: int | None = None, workers: int = 2, database_url: str = "", **env: str):
        """`db_port`: reach the test database through a relay on 127.0.0.1:db_port instead.
        `database_url` and env["SECRET_KEY"]: serve another database (bench/soak.py)."""
        if not database_url:
            db = connection.settings_dict
            host = "127.0.0.1" if db_port else db["HOST"] or "127.0.0.1"
            database_url = (
                f"postgres://{db['USER'] or 'postgres'}@{host}:{db_port or db['PORT'] or 5432}/{db['NAME']}"
            )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CIAM_")},
            "DATABASE_URL": database_url,
            "DATABASE_CONN_MAX_AGE": "600",
            "DEBUG": "false",
            # The client secrets' pepper derives from it: the tests' own, unless given.
            "SECRET_KEY": env.get("SECRET_KEY") or settings.SECRET_KEY,
            "CIAM_ISSUER": self.url,
            "ALLOWED_HOSTS": "127.0.0.1",
            **env,
        }
        command = [str(Path(sys.executable).with_name("uwsgi")), "--ini", str(ROOT / "deploy" / "uwsgi.ini")]
        command += ["--http-socket", f"127.0.0.1:{self.port}", "--processes", str(workers)]
        # Its log goes to a file: a pipe nobody reads would fill up under load and stall the server.
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed by stop()
        self.output = ""
        self.process = subprocess.Popen(
            command, env=environment, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, text=True
        )
        if not wait_until(lambda: requests.get(f"{self.url}/health/alive", timeout=2).ok):
            self.stop()
            raise AssertionError(f"the server did not start:\n{self.output}")

    def stop(self) -> str:
        """Stop the server; return what it printed (again, if it was already stopped)."""
        if self.log.closed:
            return self.output
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.seek(0)
        self.output = self.log.read()
        self.log.close()
        return self.output


class Relay:
    """Forwards 127.0.0.1:port to the database; `cut()` is the outage, `restore()` its end."""

    def __init__(self, target: tuple[str, int]):
        self.target, self.port = target, free_port()
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
            self.listener.close()
            self.listener = None
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                downstream, _ = listener.accept()
            except OSError:
                return  # cut
            upstream = socket.create_connection(self.target)
            self.sockets += [downstream, upstream]
            for a, b in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
