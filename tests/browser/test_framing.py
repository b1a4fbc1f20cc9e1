"""Clickjacking, in real Chromium: a hostile page that frames the sign-in page shows nothing."""

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.security("clickjacking")]


def _framed(page, url):
    """Load a page of another origin (the callback server) that frames `url`; the frame's page."""
    page.set_content(f'<!doctype html><iframe id="f" src="{url}" width="600" height="400"></iframe>')
    page.wait_for_load_state("load")
    return page.frame_locator("#f")


def test_a_hostile_page_cannot_frame_the_sign_in_or_consent_pages(new_page, live_server, callback):
    page = new_page()
    # The control: a page that allows framing does render inside the frame.
    assert _framed(page, callback.url).locator("h1").inner_text() == "Callback received"
    for path in ("/login", "/registration", "/consent", "/console/"):
        frame = _framed(page, live_server.url + path)
        assert frame.locator("input, button, form").count() == 0, path
        # Chromium replaced the refused document with its own error page.
        assert page.frames[1].url.startswith("chrome-error://"), (path, page.frames[1].url)
