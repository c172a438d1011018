"""CI: a client generated from the OpenAPI schema works against the running server.

    .venv/bin/python scripts/generated_client_check.py

It exports the schema (``manage.py spectacular``), generates a Python client with openapi-python-client (pinned in
requirements-client.txt, in its own virtualenv var/venv-client: it pins its own ruff and typer), installs the client
there, starts the app with gunicorn on a free port against a throwaway SQLite database (migrated, with a staff
user), and runs a shopper's and a staff member's flow through the client's typed functions
(scripts/generated_client_flow.py). Any unexpected status or an answer the client cannot parse fails the run.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENT_VENV = ROOT / "var" / "venv-client"
REQUIREMENTS = ROOT / "requirements-client.txt"
FLOW = ROOT / "scripts" / "generated_client_flow.py"
STAFF_EMAIL, STAFF_NAME = "ci-staff@example.com", "CI Staff"


def run(command: list[str], **kwargs) -> None:
    print("+", " ".join(str(part) for part in command), flush=True)
    subprocess.run(command, check=True, cwd=kwargs.pop("cwd", ROOT), **kwargs)


def client_python() -> Path:
    """var/venv-client, created and given requirements-client.txt once (again when that file changes)."""
    python = CLIENT_VENV / "bin" / "python"
    stamp = CLIENT_VENV / ".requirements-sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not python.exists():
        venv.create(CLIENT_VENV, with_pip=True)
    if not stamp.exists() or stamp.read_text() != wanted:
        run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS])
        stamp.write_text(wanted)
    return python


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(base_url: str, server: subprocess.Popen, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode} before serving")
        try:
            with urllib.request.urlopen(f"{base_url}/item/all", timeout=2) as response:  # noqa: S310 (our own server)
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise SystemExit(f"the server did not answer at {base_url} within {timeout:.0f} s")


def main() -> int:
    started = time.monotonic()
    python = client_python()
    work = Path(tempfile.mkdtemp(prefix="generated-client-", dir=ROOT / "var"))
    password = secrets.token_urlsafe(16)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cartrecovery.settings",
        "DJANGO_DEBUG": "0",  # production settings, over plain HTTP on the loopback
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_SUPERUSER_EMAIL": STAFF_EMAIL,
        "DJANGO_SUPERUSER_NAME": STAFF_NAME,
        "DJANGO_SUPERUSER_PASSWORD": password,
    }
    server = None
    try:
        manage = [sys.executable, "manage.py"]
        schema = work / "schema.json"
        run(
            [*manage, "spectacular", "--format", "openapi-json", "--validate", "--fail-on-warn", "--file", schema],
            env=env,
        )
        # Generated with its post-processing (ruff, from the client's virtualenv); any warning fails the run.
        client_env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        generator = [python.parent / "openapi-python-client", "generate", "--path", schema, "--meta", "setup"]
        run([*generator, "--output-path", work / "client", "--fail-on-warning", "--overwrite"], env=client_env)
        run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", work / "client"])
        run([*manage, "migrate", "--noinput", "-v", "0"], env=env)
        run([*manage, "createsuperuser", "--noinput"], env=env)

        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        gunicorn = [sys.executable, "-m", "gunicorn", "cartrecovery.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"]
        print("+", " ".join(gunicorn), flush=True)
        server = subprocess.Popen([*gunicorn, "--log-level", "warning"], cwd=ROOT, env=env)
        wait_until_serving(base_url, server)

        flow = [python, FLOW, "--base-url", base_url, "--staff-email", STAFF_EMAIL, "--state", work / "flow.json"]
        flow_env = {**os.environ, "CLIENT_CHECK_STAFF_PASSWORD": password}
        run([*flow, "--phase", "shopper"], env=flow_env)
        # The shopper left a second cart open: the sweep marks it abandoned, so the report has a row to read.
        run([*manage, "sweep_abandoned_carts", "--older-than", "0"], env=env)
        run([*flow, "--phase", "staff"], env=flow_env)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    print(f"generated client check passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
