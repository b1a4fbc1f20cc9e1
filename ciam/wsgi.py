"""The WSGI application the production server (uWSGI, deploy/uwsgi.ini) serves: Django's own."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ciam.settings")

application = get_wsgi_application()
