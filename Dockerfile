# The CIAM application image: uWSGI (deploy/uwsgi.ini) serving the Django project, static files
# by WhiteNoise.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY ciam ./ciam
COPY clients ./clients
COPY consent ./consent
# Wheels only, for any CPU: libsodium (PyNaCl) picks the fastest Argon2 code the CPU has at run time.
RUN pip install .

COPY manage.py ./
COPY deploy/uwsgi.ini ./deploy/uwsgi.ini
COPY templates ./templates
COPY static ./static
RUN mkdir -p var && DEBUG=true python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --home /app ciam && chown -R ciam /app/var

USER ciam
EXPOSE 8000
# Processes: about 2 per core; override with UWSGI_PROCESSES (e.g. 8). Any uWSGI option can be
# set as UWSGI_<OPTION>.
CMD ["uwsgi", "--ini", "deploy/uwsgi.ini", "--http-socket", "0.0.0.0:8000"]
