"""cartrecovery/settings.py reads the environment and nothing else: no test mode guessed from sys.modules or
sys.argv, no folder made at import. The suite's differences live in cartrecovery/settings_test.py."""

import os
import subprocess
import sys

import pytest

from tests.helpers import PROJECT_DIR


def _import_settings(code_before: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-c", f"{code_before}\nimport cartrecovery.settings as s\nprint(s.DEBUG)"],
        cwd=PROJECT_DIR,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "pretend",
    [
        "import sys; sys.modules['pytest'] = sys",  # what "TESTING = 'pytest' in sys.modules" used to sniff
        "import sys; sys.argv = ['manage.py', 'makemigrations']",
    ],
    ids=["pytest imported", "makemigrations"],
)
def test_production_settings_want_a_secret_key_whatever_runs_them(pretend):
    result = _import_settings(pretend)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_importing_the_settings_makes_no_folder():
    refuse_mkdir = (
        "import pathlib, os\n"
        "def refuse(*args, **kwargs): raise AssertionError('a folder was made at import')\n"
        "pathlib.Path.mkdir = refuse; os.makedirs = refuse; os.mkdir = refuse"
    )

    result = _import_settings(refuse_mkdir, DJANGO_DEBUG="1")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_the_suite_runs_on_its_own_settings_module(settings):
    assert os.environ["DJANGO_SETTINGS_MODULE"] == "cartrecovery.settings_test"
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]
