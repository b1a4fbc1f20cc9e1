"""The deployment files users run elsewhere: docker-compose.yml validates, the Dockerfile serves
with gunicorn, and .env.example and the README document every variable the settings read."""

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


def test_the_compose_file_validates():
    env = {**os.environ, "SECRET_KEY": "x" * 50}
    result = subprocess.run(
        [*compose_command(), "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    config = result.stdout
    for service in ("db:", "migrate:", "app:"):
        assert service in config
    assert "service_completed_successfully" in config
    assert "manage.py migrate" in config


def test_the_compose_file_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run(
        [*compose_command(), "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_image_serves_with_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r'CMD \["gunicorn", "ciam.wsgi:application"', dockerfile)
    assert "USER ciam" in dockerfile


def test_every_setting_is_documented():
    settings_source = (ROOT / "ciam" / "settings.py").read_text()
    names = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z_]+)"', settings_source))
    assert {"SECRET_KEY", "CIAM_ISSUER", "DATABASE_URL", "DEBUG"} <= names
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in names:
        assert re.search(rf"^{name}=", example, re.M), f"{name} missing from .env.example"
        assert f"`{name}`" in readme, f"{name} missing from the README"
