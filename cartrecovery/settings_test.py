"""The test suite's settings: cartrecovery/settings.py with the few things a test run needs (pytest points here, see
pyproject.toml). Processes a test starts (the scheduler, a sweep) run with the real settings module."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-any-deployment")

from .settings import *  # noqa: F403
from .settings import DATABASES

ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

# A fast hasher: passwords are hashed in many fixtures.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The test client speaks plain HTTP: none of production's HTTPS redirect, secure-only cookies or HSTS.
SECURE_SSL_REDIRECT = False
SECURE_PROXY_SSL_HEADER = None
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
SECURE_HSTS_PRELOAD = False

# No collectstatic before tests: static files are served from the apps' folders.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not shared-cache memory: concurrency tests then lock the way production does. One per test process.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"cartrecovery-test-{os.getpid()}.sqlite3")
    }
