"""The deployment files users run elsewhere: docker-compose.yml validates, the Dockerfile serves
with uWSGI, and .env.example and the README document every variable the settings read."""

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return ["docker", "compose"]


def compose_config(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*compose_command(), "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_compose_file_validates():
    env = {**os.environ, "SECRET_KEY": "x" * 50}
    result = compose_config(env)
    assert result.returncode == 0, result.stderr
    config = result.stdout
    for service in ("db:", "migrate:", "app:", "proxy:"):
        assert service in config
    assert "service_completed_successfully" in config
    assert "manage.py migrate" in config
    assert re.search(r"replicas: 2\b", config)  # several app replicas by default
    assert "nginx" in config and "deploy/nginx.conf" in config
    assert "published: 8000" in config or "8000:80" in config  # the proxy publishes the service


def test_the_compose_stack_sends_mail_to_its_catcher():
    env = {**os.environ, "SECRET_KEY": "x" * 50}
    config = compose_config(env).stdout
    assert "mailpit" in config and ("published: 8025" in config or "8025:8025" in config)
    assert "EMAIL_URL: smtp://mail:1025" in config
    assert "http://localhost:8025" in (ROOT / "README.md").read_text()


def test_the_compose_file_takes_a_replica_count():
    env = {**os.environ, "SECRET_KEY": "x" * 50, "CIAM_REPLICAS": "5"}
    result = compose_config(env)
    assert result.returncode == 0, result.stderr
    assert re.search(r"replicas: 5\b", result.stdout)


def test_the_proxy_forwards_what_the_app_trusts():
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "proxy_pass http://$app;" in nginx and "set $app app:8000;" in nginx
    assert "resolver 127.0.0.11" in nginx  # new replicas join without a restart
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in nginx
    assert "X-Forwarded-Proto $scheme" in nginx  # overwritten, never passed through
    assert "proxy_set_header Host $http_host" in nginx


def test_the_compose_file_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = compose_config(env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_image_serves_with_uwsgi_and_its_production_settings():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(
        r'CMD \["uwsgi", "--ini", "deploy/uwsgi.ini", "--http-socket", "0.0.0.0:8000"\]', dockerfile
    )
    assert "COPY deploy/uwsgi.ini" in dockerfile and "USER ciam" in dockerfile
    ini = (ROOT / "deploy" / "uwsgi.ini").read_text()
    for setting in (
        "module = ciam.wsgi:application",
        "master = true",
        "die-on-term = true",
        "lazy-apps = true",
    ):
        assert setting in ini
    # The request log never carries the query string (an id_token_hint, a user code).
    log_format = re.search(r"^log-format = (.*)$", ini, flags=re.MULTILINE).group(1)
    assert "PATH_INFO" in log_format and "uri" not in log_format and "QUERY" not in log_format


def test_every_setting_is_documented():
    settings_source = (ROOT / "ciam" / "settings.py").read_text()
    names = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z_]+)"', settings_source))
    assert {"SECRET_KEY", "CIAM_ISSUER", "DATABASE_URL", "DEBUG"} <= names
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in names:
        assert re.search(rf"^{name}=", example, re.M), f"{name} missing from .env.example"
        assert f"`{name}`" in readme, f"{name} missing from the README"
