"""Playwright driving Debian's Chromium (/usr/bin/chromium) against a live server.

The client's callback is a tiny HTTP server on a random loopback port that records every URL it
receives (Playwright does not route requests that arrive as redirects). Set CIAM_SCREENSHOTS=dir
to keep a screenshot of every page a test names.
"""

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def chromium():
    # Playwright's sync API refuses to start inside a running asyncio loop; Django's async-unsafe
    # check would then trip on database access from the test thread. Allow it for this process.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


class Callback:
    """A client's redirect endpoint: records the URLs the browser is sent to."""

    def __init__(self, port: int = 0):
        self.urls: list[str] = []
        recorded = self.urls

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                if not self.path.startswith("/favicon"):
                    recorded.append(f"http://127.0.0.1:{self.server.server_port}{self.path}")
                body = b"<!doctype html><title>Client</title><h1>Callback received</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.url = f"{self.base}/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def callback():
    server = Callback()
    yield server
    server.close()


@pytest.fixture
def new_page(chromium):
    """A fresh browser context (no cookies) per call; JavaScript can be turned off."""
    contexts = []

    def make(*, javascript: bool = True, viewport: dict = DESKTOP):
        context = chromium.new_context(java_script_enabled=javascript, viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        return page

    yield make
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:
    folder = os.environ.get("CIAM_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
