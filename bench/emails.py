"""Benchmark: claim and send N due recovery emails to Django's locmem backend, through the real service.

    .venv/bin/python bench/emails.py --emails 100000
    .venv/bin/python bench/emails.py --emails 100000 --database-url postgres://postgres@127.0.0.1:5432/cr_bench_emails

Builds its own throwaway database (a SQLite file under var/bench/, or the named PostgreSQL database, created and
dropped), fills it with N abandoned carts (2 lines each) whose first reminder step is due, then times
``plan_due_recovery_emails`` (the set-based INSERT … SELECT) and ``send_due_recovery_emails`` (claim in batches,
render text + HTML, send through locmem, mark sent) separately, and prints the figures.
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emails", type=int, default=100_000, help="due emails (= abandoned carts) to send")
    parser.add_argument("--database-url", default="", help="a PostgreSQL URL; default: a SQLite file in var/bench/")
    parser.add_argument("--batch-size", type=int, default=None, help="claim batch size (default: the service's)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


def prepare_database(url: str) -> tuple[str, callable]:
    """Return the DATABASE_URL to use and a function that drops it."""
    if not url:
        path = BASE_DIR / "var" / "bench" / "emails.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

        def drop_sqlite() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

        return f"sqlite:///{path}", drop_sqlite

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop_postgres() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')

    return url, drop_postgres


def main() -> None:
    args = parse_args()
    url, drop = prepare_database(args.database_url)
    os.environ["DATABASE_URL"] = url
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["DJANGO_DEBUG"] = "0"  # DEBUG would keep every query in memory
    os.environ["DJANGO_LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cartrecovery.settings")

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
    from django.core import mail
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from carts.models import Cart, CartItem
    from catalog.models import Item
    from recovery.models import RecoveryEmail
    from recovery.planning import plan_due_recovery_emails
    from recovery.sending import DEFAULT_BATCH_SIZE, send_due_recovery_emails
    from users.models import User

    try:
        call_command("migrate", verbosity=0)
        n = args.emails
        now = timezone.now()
        abandoned_at = now - timedelta(seconds=settings.CART_RECOVERY_EMAIL_STEPS[0] + 60)
        build = time.perf_counter()
        items = Item.objects.bulk_create(
            [Item(name=f"Item {i} <special & co>", price=Decimal(f"{i + 1}.99")) for i in range(20)]
        )
        chunk = 5000
        for start in range(0, n, chunk):
            size = min(chunk, n - start)
            users = User.objects.bulk_create(
                [
                    User(
                        email=f"shopper{start + i}@bench.example",
                        name=f"Shopper {start + i}",
                        password=UNUSABLE_PASSWORD_PREFIX,
                    )
                    for i in range(size)
                ]
            )
            carts = Cart.objects.bulk_create(
                [
                    Cart(
                        user=user,
                        status=Cart.Status.ABANDONED,
                        created_at=abandoned_at,
                        last_updated=abandoned_at,
                        abandoned_at=abandoned_at,
                        item_count=3,
                        total=items[i % 20].price + 2 * items[(i + 7) % 20].price,
                    )
                    for i, user in enumerate(users)
                ]
            )
            lines = []
            for i, cart in enumerate(carts):
                first, second = items[i % 20], items[(i + 7) % 20]
                lines.append(CartItem(cart=cart, item=first, quantity=1, unit_price=first.price))
                lines.append(CartItem(cart=cart, item=second, quantity=2, unit_price=second.price))
            CartItem.objects.bulk_create(lines)
        with connection.cursor() as cursor:
            # Fresh statistics, as autovacuum (PostgreSQL) would have gathered on a live database; without them
            # the planner guesses a few hundred abandoned carts and hash-joins all 100,000 on every batch.
            cursor.execute("ANALYZE")
        build_seconds = time.perf_counter() - build

        mail.outbox = []
        started = time.perf_counter()
        planned, _skipped = plan_due_recovery_emails(now=now)
        plan_seconds = time.perf_counter() - started
        batch_size = args.batch_size or DEFAULT_BATCH_SIZE
        started = time.perf_counter()
        result = send_due_recovery_emails(now=now, batch_size=batch_size)
        send_seconds = time.perf_counter() - started
        again = send_due_recovery_emails(now=now + timedelta(minutes=5))

        sent_rows = RecoveryEmail.objects.filter(status=RecoveryEmail.Status.SENT).count()
        assert planned == n, (planned, n)
        assert result.sent == n == len(mail.outbox) == sent_rows, (result, len(mail.outbox), sent_rows)
        assert again.sent == 0
        total = plan_seconds + send_seconds
        print(f"database: {connection.vendor} ({url.split('@')[-1]})")
        print(f"built {n} abandoned carts with {2 * n} lines in {build_seconds:.1f} s")
        print(f"plan: {planned} emails planned in {plan_seconds:.2f} s ({planned / plan_seconds:,.0f} rows/s)")
        print(
            f"claim+render+send+mark: {result.sent} emails in {send_seconds:.1f} s "
            f"({result.sent / send_seconds:,.0f} emails/s, batch size {batch_size})"
        )
        print(f"end to end: {n / total:,.0f} emails/s; a second run sent {again.sent}")
    finally:
        if not args.keep:
            drop()


if __name__ == "__main__":
    main()
