"""Benchmark of the abandonment sweep on a large throwaway database.

    .venv/bin/python bench/sweep.py --carts 1000000 --stale 900000
    .venv/bin/python bench/sweep.py --carts 1000000 --stale 7500            # the steady case
    .venv/bin/python bench/sweep.py --carts 1000000 --stale 900000 \
        --database-url postgres://postgres@127.0.0.1:5432/cr_bench_sweep

Builds its own database (a SQLite file under var/bench/, or the named PostgreSQL database, created and dropped),
migrates it and bulk inserts with INSERT ... SELECT over a generated series: one shopper per cart, one line per cart
(quantity 2). Carts 1..stale are active and stale (last_updated spread over the day before the cutoff, not in id
order); of the rest, half are checked out, a quarter already abandoned (with their log), a quarter active and fresh.

With ``--webhook-endpoint`` an active webhook endpoint subscribed to ``cart.abandoned`` exists, so each batch also
writes its carts' outbox events (webhooks/outbox.py); without it none is written, as in a shop without webhooks.

Then it times one sweep through the product's own code (``carts.sweep.sweep_abandoned_carts``) in a fresh child
process, so the peak RSS it reports is the sweep's alone, and counts the SQL statements the sweep sent
(``connection.execute_wrapper``). Finally it makes ``--naive`` carts stale again and times a naive per-cart loop
(load each stale cart, save it, look up its log, insert it) on them, and prints the ratio of the two rates.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.throwaway_db import create_database, drop_database, peak_rss_mb  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--carts", type=int, default=1_000_000)
    parser.add_argument("--stale", type=int, default=900_000)
    parser.add_argument("--naive", type=int, default=10_000, help="carts for the per-cart loop (0: skip it)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: CART_SWEEP_BATCH_SIZE")
    parser.add_argument("--database-url", default=f"sqlite:///{ROOT / 'var' / 'bench' / 'sweep.sqlite3'}")
    parser.add_argument(
        "--webhook-endpoint",
        action="store_true",
        help="with an active webhook endpoint, so the sweep also writes a cart.abandoned event per cart it marks",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--build-only", action="store_true", help="build the database, keep it, time nothing")
    parser.add_argument("--sweep-only", action="store_true", help=argparse.SUPPRESS)  # the timed child process
    parser.add_argument("--now", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 0 <= args.stale <= args.carts:
        parser.error("--stale must be between 0 and --carts")
    return args


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cartrecovery.settings")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django

    django.setup()


# --- database lifecycle ------------------------------------------------------------------------------------------


# --- data --------------------------------------------------------------------------------------------------------


def build(*, carts: int, stale: int, now: datetime) -> dict:
    """Bulk insert users, items, carts, lines and the logs of the carts already abandoned. Returns the counts."""
    from django.conf import settings
    from django.db import connection, transaction

    rest = carts - stale
    checked_out = rest // 2
    abandoned = rest // 4
    fresh = rest - checked_out - abandoned
    # Cart n: 1..stale stale; then checked out; then already abandoned; then fresh.
    b1, b2, b3 = stale, stale + checked_out, stale + checked_out + abandoned
    threshold = settings.CART_ABANDON_AFTER_SECONDS
    pg = connection.vendor == "postgresql"
    if pg:
        series = "generate_series(1, %s) AS s(n)"
        ts = "(%s::timestamptz - make_interval(secs => {}))"
        prefix = ""
    else:
        series = "seq"
        ts = "datetime(%s, '-' || ({}) || ' seconds')"
        prefix = "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < %s) "
    now_param = now if pg else now.replace(tzinfo=None).isoformat(sep=" ")

    def insert(sql: str, params: list) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    # When a cart is stale it was last touched 1 s to one day before the cutoff, in a scrambled order.
    stale_age = f"{threshold} + 1 + ((n %% 86400) * 7919) %% 86400"
    old_age = f"{threshold} + 86400 * 2 + n %% 3600"
    fresh_age = f"(n * 13) %% {max(threshold - 1, 1)}"
    last_updated_age = f"CASE WHEN n <= {b1} THEN {stale_age} WHEN n <= {b3} THEN {old_age} ELSE {fresh_age} END"
    status = (
        f"CASE WHEN n <= {b1} THEN 'active' WHEN n <= {b2} THEN 'checked_out' "
        f"WHEN n <= {b3} THEN 'abandoned' ELSE 'active' END"
    )
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO catalog_item (id, name, price, is_active, created_at) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s)"] * 10),
                [v for i in range(1, 11) for v in (i, f"Item {i}", f"{i * 2}.50", True, now_param)],
            )
        if pg:

            def q(select_list: str, table_cols: str, table: str) -> str:
                return f"INSERT INTO {table} ({table_cols}) SELECT {select_list} FROM {series}"
        else:

            def q(select_list: str, table_cols: str, table: str) -> str:
                return f"{prefix}INSERT INTO {table} ({table_cols}) SELECT {select_list} FROM {series}"

        # PostgreSQL: placeholders in the SELECT list come before the series' in the text; SQLite: the CTE's first.
        def params(*select_params):
            return [*select_params, carts] if pg else [carts, *select_params]

        insert(
            q(
                "n, '!', NULL, FALSE, 'shopper' || n || '@bench.example', 'Shopper ' || n, FALSE, TRUE, FALSE, "
                + ts.format("n %% 86400"),
                "id, password, last_login, is_superuser, email, name, is_staff, is_active, email_opt_out, date_joined",
                "users_user",
            ),
            params(now_param),
        )
        insert(
            q(
                f"n, n, {status}, {ts.format(f'({last_updated_age}) + 3600')}, {ts.format(last_updated_age)}, "
                f"CASE WHEN n > {b2} AND n <= {b3} THEN {ts.format('86400')} END, NULL, '', "
                f"CASE WHEN n > {b1} AND n <= {b2} THEN {ts.format(old_age)} END, 2, (1 + n %% 10) * 5 + 1",
                "id, user_id, status, created_at, last_updated, abandoned_at, recovered_at, recovery_source, "
                "checked_out_at, item_count, total",
                "carts_cart",
            ),
            params(now_param, now_param, now_param, now_param),
        )
        insert(
            q(
                "n, n, 1 + n %% 10, 2, (1 + n %% 10) * 2 + 0.5",
                "id, cart_id, item_id, quantity, unit_price",
                "carts_cartitem",
            ),
            params(),
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO carts_abandonmentlog (cart_id, abandoned_at, item_count, total) "
                "SELECT id, abandoned_at, item_count, total FROM carts_cart WHERE status = 'abandoned'"
            )
    with connection.cursor() as cursor:
        if pg:
            for table in ("users_user", "catalog_item", "carts_cart", "carts_cartitem", "carts_abandonmentlog"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            cursor.execute("VACUUM ANALYZE")  # a live database is vacuumed and analysed; a fresh bulk load is not
        else:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {
        "stale": stale,
        "checked_out": checked_out,
        "abandoned": abandoned,
        "fresh": fresh,
        "build_seconds": time.perf_counter() - started,
    }


# --- the measured runs -------------------------------------------------------------------------------------------


def sweep_in_this_process(*, now: datetime, batch_size: int | None) -> dict:
    """The timed sweep: the product's own service, statements counted, peak RSS of this process."""
    from django.db import connection
    from django.db.backends.signals import connection_created

    from carts.sweep import sweep_abandoned_carts

    statements = 0

    counting = threading.Lock()

    def count(execute, sql, params, many, context):
        nonlocal statements
        with counting:
            statements += 1
        return execute(sql, params, many, context)

    def count_on_new_connections(sender, connection, **kwargs):
        # A catch-up on PostgreSQL sweeps with several connections (CART_SWEEP_WORKERS): count theirs too.
        connection.execute_wrappers.append(count)

    connection.ensure_connection()
    rss_before = peak_rss_mb()
    connection_created.connect(count_on_new_connections)
    try:
        with connection.execute_wrapper(count):
            started = time.perf_counter()
            result = sweep_abandoned_carts(now=now, batch_size=batch_size)
            seconds = time.perf_counter() - started
    finally:
        connection_created.disconnect(count_on_new_connections)
    return {
        "marked": result.marked,
        "logged": result.logged,
        "batches": result.batches,
        "seconds": seconds,
        "statements": statements,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": rss_before,
    }


def naive_loop(*, cart_ids: list[int], now: datetime) -> float:
    """What the sweep replaces: one cart at a time through the ORM. Returns seconds."""
    from django.db import transaction

    from carts.models import AbandonmentLog, Cart

    started = time.perf_counter()
    for cart_id in cart_ids:
        with transaction.atomic():
            cart = Cart.objects.get(pk=cart_id)
            if cart.status != Cart.Status.ACTIVE or cart.item_count == 0:
                continue
            cart.status = Cart.Status.ABANDONED
            cart.abandoned_at = now
            cart.save()
            if not AbandonmentLog.objects.filter(cart=cart).exists():
                AbandonmentLog.objects.create(cart=cart, abandoned_at=now, item_count=cart.item_count, total=cart.total)
    return time.perf_counter() - started


def make_stale_again(*, count: int) -> list[int]:
    """Turn the first ``count`` swept carts back into stale, never-abandoned carts for the naive loop."""
    from django.db import transaction

    from carts.models import AbandonmentLog, Cart

    ids = list(
        Cart.objects.filter(status=Cart.Status.ABANDONED, pk__lte=count).order_by("pk").values_list("pk", flat=True)
    )
    with transaction.atomic():
        AbandonmentLog.objects.filter(cart_id__in=ids).delete()
        Cart.objects.filter(pk__in=ids).update(status=Cart.Status.ACTIVE, abandoned_at=None)
    return ids


def main() -> None:
    args = parse_args()
    if args.sweep_only:
        setup_django(args.database_url)
        now = datetime.fromisoformat(args.now)
        print(json.dumps(sweep_in_this_process(now=now, batch_size=args.batch_size)))
        return

    create_database(args.database_url)
    setup_django(args.database_url)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from carts.models import AbandonmentLog, Cart

    try:
        call_command("migrate", verbosity=0)
        now = datetime.now(UTC).replace(microsecond=0)
        counts = build(carts=args.carts, stale=args.stale, now=now)
        print(
            f"database: {connection.vendor}; {args.carts:,} carts built in {counts['build_seconds']:.1f} s: "
            f"{counts['stale']:,} stale, {counts['checked_out']:,} checked out, {counts['abandoned']:,} already "
            f"abandoned, {counts['fresh']:,} fresh; batch size {args.batch_size or settings.CART_SWEEP_BATCH_SIZE}"
        )
        if args.webhook_endpoint:
            from webhooks.models import Endpoint

            Endpoint.objects.create(url="https://hooks.example.com/bench", event_types=["cart.abandoned"])
        connection.close()
        if args.build_only:
            args.keep = True
            return

        child = subprocess.run(
            [sys.executable, __file__, "--sweep-only", "--database-url", args.database_url, "--now", now.isoformat()]
            + (["--batch-size", str(args.batch_size)] if args.batch_size else []),
            capture_output=True,
            text=True,
            check=True,
        )
        sweep = json.loads(child.stdout.strip().splitlines()[-1])
        rate = sweep["marked"] / sweep["seconds"] if sweep["seconds"] else float("inf")
        print(
            f"sweep: {sweep['marked']:,} carts marked in {sweep['seconds']:.2f} s = {rate:,.0f} carts/s; "
            f"{sweep['batches']} batches, {sweep['statements']} SQL statements; "
            f"peak RSS {sweep['peak_rss_mb']:.0f} MB (process after Django setup: {sweep['rss_before_mb']:.0f} MB)"
        )
        assert sweep["marked"] == args.stale, "the sweep must mark exactly the stale carts"
        assert Cart.objects.filter(abandoned_at__isnull=False).count() == AbandonmentLog.objects.count()
        if args.webhook_endpoint:
            from webhooks.models import Event

            events = Event.objects.filter(type="cart.abandoned").count()
            assert events == args.stale, "one cart.abandoned event per cart marked"
            print(f"webhook events written by the sweep: {events:,}")

        if args.naive and args.stale:
            ids = make_stale_again(count=min(args.naive, args.stale))
            seconds = naive_loop(cart_ids=ids, now=now + timedelta(seconds=1))
            naive_rate = len(ids) / seconds
            print(
                f"naive per-cart loop: {len(ids):,} carts in {seconds:.2f} s = {naive_rate:,.0f} carts/s; "
                f"the sweep is {rate / naive_rate:,.0f} times faster"
            )
    finally:
        if not args.keep:
            drop_database(args.database_url)


if __name__ == "__main__":
    main()
