# The CIAM application image: gunicorn serving the Django project, static files by WhiteNoise.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY ciam ./ciam
COPY clients ./clients
COPY consent ./consent
RUN pip install .

COPY manage.py ./
COPY templates ./templates
COPY static ./static
RUN mkdir -p var && DEBUG=true python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --home /app ciam && chown -R ciam /app/var

USER ciam
EXPOSE 8000
# Workers: about 2 per core; override with GUNICORN_CMD_ARGS (e.g. "--workers 8").
CMD ["gunicorn", "ciam.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", \
     "--access-logfile", "-", "--forwarded-allow-ips", "*"]
