"""Benchmark of the abandoned-cart report on a large throwaway database.

    .venv/bin/python bench/report.py --carts 1000000 --abandoned 200000
    .venv/bin/python bench/report.py --carts 1000000 --abandoned 200000 \
        --database-url postgres://postgres@127.0.0.1:5432/cr_bench_report

Builds its own database (a SQLite file under var/bench/, or the named PostgreSQL database, created and dropped),
bulk inserts carts with raw SQL, then times through Django's test Client logged in as staff:

- the first page of /cart/abandoned with its default period (the last 30 days; the data is spread over the last
  ``--days`` days, 30 by default, so every cart is inside the default period: the worst case);
- /api/report/metrics/ (the same figures as JSON);
- the full CSV export (/cart/report?format=csv), streamed, with the process's peak RSS and tracemalloc's peak.

Carts 1..abandoned were abandoned (60 % still abandoned, 25 % recovered and checked out, 15 % recovered and active);
the others are checked out (15 of 16) or active. Half the abandoned carts have one sent recovery email.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.throwaway_db import create_database, drop_database, peak_rss_mb  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--carts", type=int, default=1_000_000)
    parser.add_argument("--abandoned", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=30, help="spread the carts over the last N days")
    parser.add_argument("--database-url", default=f"sqlite:///{ROOT / 'var' / 'bench' / 'report.sqlite3'}")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per page (after one warm-up)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if not 0 <= args.abandoned <= args.carts:
        parser.error("--abandoned must be between 0 and --carts")
    return args


# --- database lifecycle ------------------------------------------------------------------------------------------


# --- bulk data ---------------------------------------------------------------------------------------------------


class SqlDialect:
    def __init__(self, vendor: str, now: datetime):
        self.vendor = vendor
        self.now = now.strftime("%Y-%m-%d %H:%M:%S")

    def series(self, count: int) -> tuple[str, str]:
        """(prefix, source) to select x = 1..count."""
        if self.vendor == "postgresql":
            return "", f"generate_series(1::bigint, {count}::bigint) AS s(x)"
        return f"WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {count}) ", "s"

    def seconds_ago(self, seconds_sql: str) -> str:
        if self.vendor == "postgresql":
            return f"(TIMESTAMPTZ '{self.now}+00' - ({seconds_sql}) * INTERVAL '1 second')"
        return f"strftime('%Y-%m-%d %H:%M:%f', '{self.now}', '-' || ({seconds_sql}) || ' seconds')"


def literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def insert_select(cursor, model, columns: dict[str, str], *, count: int, dialect: SqlDialect, where: str = "") -> None:
    """INSERT INTO model's table SELECT <expressions of x> FROM 1..count. Fields the caller does not give get NULL or
    their default, so other features' new columns do not break the benchmark."""
    names, expressions = [], []
    for field in model._meta.concrete_fields:
        names.append(field.column)
        if field.column in columns:
            expressions.append(columns[field.column])
        elif field.null:
            expressions.append("NULL")
        elif field.has_default():
            expressions.append(literal(field.get_default()))
        else:
            raise SystemExit(f"bench/report.py: no value for {model.__name__}.{field.name}")
    prefix, source = dialect.series(count)
    table = model._meta.db_table
    cursor.execute(
        f"{prefix}INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(expressions)} FROM {source} {where}"
    )


def load(*, carts: int, abandoned: int, days: int, vendor: str) -> None:
    from django.db import connection, transaction

    from carts.models import AbandonmentLog, Cart
    from recovery.models import RecoveryEmail
    from users.models import User

    dialect = SqlDialect(vendor, datetime.now(UTC))
    span = days * 86_400 - 10_800
    offset = f"(10800 + (x * 7919) % {span})"  # seconds before now, spread pseudo-randomly, at least 3 h ago

    def at(after_creation: int) -> str:
        return dialect.seconds_ago(f"{offset} - {after_creation}")

    kind = (
        f"CASE WHEN x <= {abandoned} THEN "
        "(CASE WHEN x % 20 < 12 THEN 'lost' WHEN x % 20 < 17 THEN 'won' ELSE 'back' END) "
        "ELSE (CASE WHEN x % 16 = 0 THEN 'active' ELSE 'bought' END) END"
    )

    def by_kind(**values: str) -> str:
        cases = " ".join(f"WHEN '{name}' THEN {value}" for name, value in values.items())
        return f"(CASE {kind} {cases} ELSE NULL END)"

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        insert_select(
            cursor,
            User,
            {
                "id": "x",
                "password": "'!'",
                "email": "'shopper' || x || '@bench.example.com'",
                "name": "'Shopper ' || x",
                "date_joined": at(-86_400),
            },
            count=carts,
            dialect=dialect,
        )
        insert_select(
            cursor,
            Cart,
            {
                "id": "x",
                "user_id": "x",
                "status": by_kind(
                    lost="'abandoned'", won="'checked_out'", back="'active'", active="'active'", bought="'checked_out'"
                ),
                "created_at": at(0),
                "last_updated": by_kind(lost=at(300), won=at(9000), back=at(7200), active=at(300), bought=at(600)),
                "abandoned_at": f"CASE WHEN x <= {abandoned} THEN {at(1200)} ELSE NULL END",
                "recovered_at": by_kind(won=at(7200), back=at(7200)),
                "recovery_source": (
                    f"CASE WHEN x <= {abandoned} AND x % 20 >= 12 THEN "
                    "(CASE WHEN x % 2 = 0 THEN 'email_link' ELSE 'returned' END) ELSE '' END"
                ),
                "checked_out_at": by_kind(won=at(9000), bought=at(600)),
                "item_count": "1 + x % 5",
                "total": "(10 + x % 90) + 0.99",
            },
            count=carts,
            dialect=dialect,
        )
        insert_select(
            cursor,
            AbandonmentLog,
            {
                "id": "x",
                "cart_id": "x",
                "abandoned_at": at(1200),
                "item_count": "1 + x % 5",
                "total": "(10 + x % 90) + 0.99",
            },
            count=abandoned,
            dialect=dialect,
        )
        insert_select(
            cursor,
            RecoveryEmail,
            {
                "id": "x",
                "cart_id": "x",
                "step": "1",
                "status": "'sent'",
                "planned_at": at(4800),
                "claimed_at": at(4800),
                "sent_at": at(4801),
                "attempts": "1",
                "created_at": at(1200),
            },
            count=abandoned,
            dialect=dialect,
            where="WHERE x % 2 = 0",
        )
        if vendor == "postgresql":
            for model in (User, Cart, AbandonmentLog, RecoveryEmail):
                table = model._meta.db_table
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    with connection.cursor() as cursor:
        # Fresh statistics (and, on PostgreSQL, the visibility map for index-only scans), as autovacuum would give.
        cursor.execute("VACUUM ANALYZE" if vendor == "postgresql" else "ANALYZE")
    print(f"loaded {carts:,} carts ({abandoned:,} abandoned) in {time.perf_counter() - started:.1f} s")


# --- timings -----------------------------------------------------------------------------------------------------


def timed_get(client, path: str, *, repeat: int, **params) -> tuple[float, list[float], object]:
    """(first run in ms, the warm runs in ms, last response) for a GET whose body is fully read."""
    runs, response = [], None
    for _ in range(repeat + 1):
        started = time.perf_counter()
        response = client.get(path, params, secure=True, HTTP_HOST="localhost")
        body = b"".join(response.streaming_content) if response.streaming else response.content
        runs.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, body[:300])
    return runs[0], runs[1:], response


def report(label: str, first: float, warm: list[float]) -> None:
    print(f"{label:<44} first {first:7.1f} ms   median {statistics.median(warm):7.1f} ms   max {max(warm):7.1f} ms")


def slowest_queries(client, path: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(path, secure=True, HTTP_HOST="localhost")
    print(f"  {len(captured)} queries on {path}; slowest:")
    for query in sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:4]:
        print(f"    {float(query['time']) * 1000:7.1f} ms  {query['sql'][:150]}")


def csv_export(client) -> None:
    baseline = peak_rss_mb()
    started = time.perf_counter()
    response = client.get("/cart/report", {"format": "csv"}, secure=True, HTTP_HOST="localhost")
    rows = size = 0
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
        size += len(chunk)
    seconds = time.perf_counter() - started
    print(
        f"{'CSV export /cart/report?format=csv':<44} {seconds:7.1f} s for {rows - 1:,} rows ({size / 1e6:.1f} MB); "
        f"peak RSS of the process {peak_rss_mb():.0f} MB (before the export {baseline:.0f} MB)"
    )
    tracemalloc.start()
    response = client.get("/cart/report", {"format": "csv"}, secure=True, HTTP_HOST="localhost")
    for _chunk in response.streaming_content:
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{'  same export under tracemalloc':<44} peak Python allocations {peak / 1e6:.1f} MB")


def main() -> None:
    args = parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cartrecovery.settings")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    create_database(args.database_url)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from users.models import User

    # Production settings (DEBUG off), except the static files manifest, which only `collectstatic` builds.
    plain_static = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    override_settings(STORAGES=plain_static).enable()
    try:
        call_command("migrate", verbosity=0)
        vendor = connection.vendor
        print(f"database: {vendor} ({args.database_url}); carts spread over the last {args.days} days")
        load(carts=args.carts, abandoned=args.abandoned, days=args.days, vendor=vendor)
        staff = User.objects.create_user(email="bench-staff@example.com", name="Bench", password=None, is_staff=True)
        client = Client()
        client.force_login(staff)

        first, warm, response = timed_get(client, "/cart/abandoned", repeat=args.repeat)
        assert b"report-table" in response.content
        report("report page 1 /cart/abandoned (last 30 days)", first, warm)
        first, warm, _ = timed_get(client, "/cart/abandoned", repeat=args.repeat, page=2000)
        report("report page 2000 (a deep page)", first, warm)
        first, warm, response = timed_get(client, "/api/report/metrics/", repeat=args.repeat)
        report("metrics /api/report/metrics/", first, warm)
        print(f"  metrics: {response.json()}")
        slowest_queries(client, "/cart/abandoned")
        slowest_queries(client, "/api/report/metrics/")
        csv_export(client)
    finally:
        if args.keep:
            print(f"kept {args.database_url}")
        else:
            drop_database(args.database_url)


if __name__ == "__main__":
    main()
