"""The WSGI application uWSGI serves: Django's handler, with the plain client-credentials and
introspection requests answered first by ciam.oauth.fastpath (the same validation, less around it)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ciam.settings")
django.setup(set_prefix=False)

from ciam.oauth.fastpath import FastPathHandler  # noqa: E402 - needs the apps loaded

application = FastPathHandler()
