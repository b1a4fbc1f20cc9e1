# The CIAM application image: uWSGI (deploy/uwsgi.ini) serving the Django project, static files
# by WhiteNoise.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY ciam ./ciam
COPY clients ./clients
COPY consent ./consent
RUN pip install .
# Argon2id compiled for the building machine's CPU, AVX-512 or AVX2 (about half the CPU per
# sign-in); --build-arg ARGON2_NATIVE=avx2 stops at AVX2 and ARGON2_NATIVE=off keeps the portable
# wheel, for images that run on other CPUs (the image refuses to start where its build cannot run).
ARG ARGON2_NATIVE=auto
COPY deploy/argon2-native.sh ./deploy/argon2-native.sh
RUN if [ "$ARGON2_NATIVE" != off ] && grep -qw avx2 /proc/cpuinfo; then \
        apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
        && ARGON2_NATIVE="$ARGON2_NATIVE" sh deploy/argon2-native.sh python \
        && apt-get purge -y gcc libc6-dev && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*; \
    fi

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
