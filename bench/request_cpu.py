"""CPU per request, route by route: the web application called in-process (no HTTP server, no load generator).

    .venv/bin/python bench/request_cpu.py
    .venv/bin/python bench/request_cpu.py --database-url postgres://postgres@127.0.0.1:5432/cr_bench_cpu

Builds its own database (a SQLite file under var/bench/, or the named PostgreSQL database, created and dropped),
loads the catalog, then calls Django's WSGI application directly with production settings (DEBUG off) for each
seed route the load test drives, as a shopper with an API token, and prints the process CPU time per request
(the lowest of three rounds: the machine's other work only ever adds to it). The database server's own CPU is not
in these figures; bench/load.py measures the whole stack under load.

What it is for: the load test's ceiling is (cores x 1000) / (CPU ms per request of the web workers + the database +
the load generator); this tells which route costs what before and after a change.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.throwaway_db import create_database, drop_database  # noqa: E402

# The load test's mix (bench/locustfile.py task weights): add 6, view 3, remove 2, checkout 1.
MIX = {"cart/add": 6, "cart/view": 3, "cart/remove": 2, "cart/checkout": 1}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per route and round (default 1000)")
    parser.add_argument("--database-url", default=f"sqlite:///{ROOT / 'var' / 'bench' / 'request_cpu.sqlite3'}")
    return parser.parse_args()


class App:
    """Django's WSGI application, called the way a WSGI server calls it (the response is closed: signals fire)."""

    def __init__(self):
        from django.core.wsgi import get_wsgi_application

        self.application = get_wsgi_application()

    def __call__(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        data = json.dumps(body).encode() if body is not None else b""
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
        }
        if token:
            environ["HTTP_AUTHORIZATION"] = f"Token {token}"
        status = []
        response = self.application(environ, lambda line, headers, exc_info=None: status.append(line))
        content = b"".join(response)
        response.close()
        code = int(status[0].split()[0])
        if code >= 300:
            raise SystemExit(f"{method} {path} answered {status[0]}: {content[:300]!r}")
        return json.loads(content)


def cpu_ms_per_request(run: Callable[[int], None], prepare: Callable[[], None], count: int) -> float:
    rounds = []
    for _ in range(3):
        prepare()
        started = time.process_time()
        for index in range(count):
            run(index)
        rounds.append(1000 * (time.process_time() - started) / count)
    return min(rounds)


def measure(app: App, count: int) -> dict[str, float]:
    items = [item["id"] for item in app("GET", "/item/all")]
    state: dict = {}

    def register() -> str:
        body = {"name": "Bench Shopper", "email": f"bench-{uuid.uuid4().hex}@example.com"}
        return app("POST", "/user/register", body)["token"]

    def fresh_shopper():
        state["token"] = register()

    def shopper_with_a_cart():
        state["token"] = register()
        for item_id in items[:3]:
            state["cart"] = app("POST", "/cart/add", {"item_id": item_id, "quantity": count}, state["token"])["cart_id"]

    def carts_to_check_out():
        state["carts"] = []
        for _ in range(count):
            token = register()
            cart_id = app("POST", "/cart/add", {"item_id": items[0]}, token)["cart_id"]
            state["carts"].append((token, cart_id))

    routes = {
        "cart/add": (
            fresh_shopper,
            lambda i: app("POST", "/cart/add", {"item_id": items[i % len(items)]}, state["token"]),
        ),
        "cart/view": (shopper_with_a_cart, lambda i: app("GET", "/cart/view", token=state["token"])),
        "cart/remove": (
            shopper_with_a_cart,
            lambda i: app(
                "POST", "/cart/remove", {"cart_id": state["cart"], "item_id": items[0], "quantity": 1}, state["token"]
            ),
        ),
        "cart/checkout": (
            carts_to_check_out,
            lambda i: app("POST", "/cart/checkout", {"cart_id": state["carts"][i][1]}, state["carts"][i][0]),
        ),
        "item/all": (lambda: None, lambda i: app("GET", "/item/all")),
    }
    return {name: cpu_ms_per_request(run, prepare, count) for name, (prepare, run) in routes.items()}


def main() -> int:
    args = parse_args()
    os.environ.update(
        {
            "DATABASE_URL": args.database_url,
            "DJANGO_SETTINGS_MODULE": "cartrecovery.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_THROTTLE_REGISTER": "off",
            "DJANGO_THROTTLE_TOKEN": "off",
            "DJANGO_LOG_LEVEL": "ERROR",
            "CART_MAX_QUANTITY": "1000000",  # the add and remove rounds grow and shrink one line
        }
    )
    create_database(args.database_url)
    import django
    from django.core.management import call_command

    django.setup()
    try:
        call_command("migrate", verbosity=0)
        call_command("loaddata", "catalog", verbosity=0)
        figures = measure(App(), args.requests)
    finally:
        drop_database(args.database_url)
    engine = "PostgreSQL" if args.database_url.startswith("postgres") else "SQLite"
    print(f"CPU per request, in-process, {engine}, {args.requests} requests per route, best of 3 rounds:")
    for name, millis in figures.items():
        print(f"  {name:<14} {millis:.2f} ms")
    mix = sum(figures[name] * weight for name, weight in MIX.items()) / sum(MIX.values())
    print(f"  load-test mix  {mix:.2f} ms  (add 6 : view 3 : remove 2 : checkout 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
