"""Playwright driving Debian's Chromium (/usr/bin/chromium) against a live server.

The client's callback is a tiny HTTP server on a random loopback port that records every URL it
receives (Playwright does not route requests that arrive as redirects). Set CIAM_SCREENSHOTS=dir
to keep a screenshot of every page a test names.
"""

import os

import pytest
from playwright.sync_api import sync_playwright

from tests.helpers import CHROMIUM, CHROMIUM_FLAGS, DESKTOP, Callback


@pytest.fixture(scope="session")
def chromium():
    # Playwright's sync API refuses to start inside a running asyncio loop; Django's async-unsafe
    # check would then trip on database access from the test thread. Allow it for this process.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


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
