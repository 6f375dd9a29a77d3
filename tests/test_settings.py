"""Settings come from the environment, and production refuses to start without its secrets."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from portal import conf, crypto

ROOT = Path(__file__).resolve().parent.parent


def start(tmp_path, **env):
    """Load the portal's real settings in a fresh interpreter with exactly ``env`` set."""
    clean = {k: v for k, v in os.environ.items()
             if k not in {"DEBUG", "SECRET_KEY", "PORTAL_ENCRYPTION_KEY", "DATABASE_URL"}}
    clean.update(DJANGO_SETTINGS_MODULE="portal.settings", PORTAL_VAR_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize("env, missing", [
    ({}, "SECRET_KEY"),
    ({"SECRET_KEY": "s" * 50}, "PORTAL_ENCRYPTION_KEY"),
])
def test_production_without_a_secret_stops_and_names_it(tmp_path, env, missing):
    result = start(tmp_path, DEBUG="0", **env)

    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr


def test_production_with_its_secrets_starts(tmp_path):
    result = start(tmp_path, DEBUG="0", SECRET_KEY="s" * 50,
                   PORTAL_ENCRYPTION_KEY=Fernet.generate_key().decode())

    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_debug_runs_on_development_defaults(tmp_path):
    result = start(tmp_path, DEBUG="1")

    assert result.returncode == 0, result.stderr


def test_a_wrong_boolean_names_the_variable(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")

    with pytest.raises(ImproperlyConfigured, match="DEBUG must be one of"):
        conf.env_bool("DEBUG")


def test_a_wrong_number_names_the_variable(monkeypatch):
    monkeypatch.setenv("PORTAL_SCHEDULER_TICK", "soon")

    with pytest.raises(ImproperlyConfigured, match="PORTAL_SCHEDULER_TICK must be a whole"):
        conf.env_int("PORTAL_SCHEDULER_TICK", 60)


def test_credentials_are_encrypted_and_survive_key_rotation(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PORTAL_ENCRYPTION_KEY = old
    token = crypto.encrypt_json({"secret_access_key": "hunter2"})

    settings.PORTAL_ENCRYPTION_KEY = f"{new},{old}"

    assert "hunter2" not in token
    assert crypto.decrypt_json(token) == {"secret_access_key": "hunter2"}
    settings.PORTAL_ENCRYPTION_KEY = new
    with pytest.raises(ImproperlyConfigured, match="cannot be decrypted"):
        crypto.decrypt_json(token)


def test_a_malformed_encryption_key_says_how_to_make_one(settings):
    settings.PORTAL_ENCRYPTION_KEY = "not-a-key"

    with pytest.raises(ImproperlyConfigured, match="Fernet.generate_key"):
        crypto.encrypt_json({"a": "b"})
