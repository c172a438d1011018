"""Upgrading a database from the layout where RecoveryEmail lived in the carts app (main before the `recovery` app):
every row and every staff grant survives the move.

A real upgrade, in child processes on a database of its own: `migrate carts 0006` builds the old schema exactly as the
old code did (its post_migrate creates the old `carts.recoveryemail` content type and permissions), the old rows and
grants are written, then a plain `migrate` runs the move."""

import json
import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.db import connection

from tests.helpers import PROJECT_DIR, child_process_env, test_database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

# main before the recovery app: the last migrations of the apps the old tables belong to.
OLD_STATE = "0006_cart_total_fits_its_column"
OLD_USERS = "0004_email_rules"

# Written with SQL against the old schema (the models of today may have columns that did not exist then).
SEED = """
import json
from datetime import UTC, datetime
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.db import connection

at = connection.ops.adapt_datetimefield_value(datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
with connection.cursor() as cursor:
    people = (("ops@shop.test", "Ops", True), ("boss@shop.test", "Boss", True), ("ada@shop.test", "Ada", False))
    for email, name, staff in people:
        cursor.execute(
            "INSERT INTO users_user (password, is_superuser, email, name, is_staff, is_active, email_opt_out,"
            " date_joined) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [make_password("a long passphrase"), False, email, name, staff, True, False, at],
        )
    cursor.execute("SELECT id, email FROM users_user")
    users = {email: pk for pk, email in cursor.fetchall()}
    cursor.execute(
        "INSERT INTO carts_cart (user_id, status, created_at, last_updated, abandoned_at, recovery_source,"
        " item_count, total) VALUES (%s, 'abandoned', %s, %s, %s, '', 2, 9.00)",
        [users["ada@shop.test"], at, at, at],
    )
    cursor.execute("SELECT id FROM carts_cart")
    (cart,) = cursor.fetchone()
    cursor.execute(
        "INSERT INTO carts_abandonmentlog (cart_id, abandoned_at, item_count, total) VALUES (%s, %s, 2, 9.00)",
        [cart, at],
    )
    old_rows = (
        (1, "sent", ""),
        (2, "failed", "SMTPRecipientsRefused: nope"),
        (3, "cancelled", "Skipped: a later reminder step was already due when this one was planned."),
    )
    for step, status, error in old_rows:
        cursor.execute(
            "INSERT INTO carts_recoveryemail (cart_id, step, status, planned_at, sent_at, attempts, last_error,"
            " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [cart, step, status, at, at if status == "sent" else None, 1, error, at],
        )
old = Permission.objects.filter(content_type__app_label="carts", content_type__model="recoveryemail")
grants = Permission.objects.filter(pk__in=old.filter(codename__in=["view_recoveryemail", "change_recoveryemail"]))
with connection.cursor() as cursor:
    for permission in grants:
        cursor.execute(
            "INSERT INTO users_user_user_permissions (user_id, permission_id) VALUES (%s, %s)",
            [users["ops@shop.test"], permission.pk],
        )
    group = Group.objects.create(name="Support")
    group.permissions.add(old.get(codename="delete_recoveryemail"))
    cursor.execute(
        "INSERT INTO users_user_groups (user_id, group_id) VALUES (%s, %s)", [users["boss@shop.test"], group.pk]
    )
print(json.dumps({"cart": cart, "permissions": sorted(old.values_list("codename", flat=True))}))
"""

CHECK = """
import json
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from recovery.models import Campaign, RecoveryEmail
from users.models import User

staff, manager = User.objects.get(email="ops@shop.test"), User.objects.get(email="boss@shop.test")
browser = Client(SERVER_NAME="localhost")
browser.force_login(staff)
print(json.dumps({
    "table": RecoveryEmail._meta.db_table,
    "rows": list(RecoveryEmail.objects.order_by("step").values_list("cart_id", "step", "status", "last_error", "note")),
    "linked": list(RecoveryEmail.objects.order_by("step").values_list("campaign_step__position", flat=True)),
    "sent": list(RecoveryEmail.objects.filter(status="sent").values_list("recipient", "subject", "attempts")),
    "campaigns": [
        (c.name, c.is_active, [(s.position, s.delay_seconds, s.subject, s.is_active) for s in c.steps.all()])
        for c in Campaign.objects.prefetch_related("steps")
    ],
    "staff": sorted(perm for perm in staff.get_all_permissions() if "recoveryemail" in perm),
    "manager": sorted(perm for perm in manager.get_all_permissions() if "recoveryemail" in perm),
    "old_content_types": ContentType.objects.filter(app_label="carts", model="recoveryemail").count(),
    "recovery_permissions": sorted(
        Permission.objects.filter(content_type__app_label="recovery", content_type__model="recoveryemail").values_list(
            "codename", flat=True
        )
    ),
    "admin_list": browser.get("/admin/recovery/recoveryemail/").status_code,
}))
"""


@pytest.fixture
def upgrade_database(tmp_path):
    """A database of its own for the upgrade, on the same engine as the suite; dropped afterwards."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'upgrade.sqlite3'}"
        return
    name = f"cr_upgrade_{uuid.uuid4().hex[:10]}"
    server = urlsplit(test_database_url())
    maintenance = urlunsplit(server._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(server._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(maintenance, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(database_url: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=child_process_env(
            DATABASE_URL=database_url,
            DJANGO_DEBUG="1",
            DJANGO_LOG_LEVEL="WARNING",
            CART_RECOVERY_EMAIL_STEPS="1800,7200,86400",
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_an_upgrade_keeps_every_recovery_email_and_every_grant_on_them(upgrade_database):
    # Given a database at the old layout, with reminders and staff allowed to see, resend and delete them
    manage(upgrade_database, "migrate", "users", OLD_USERS, "--noinput")
    manage(upgrade_database, "migrate", "carts", OLD_STATE, "--noinput")
    seeded = json.loads(manage(upgrade_database, "shell", "-c", SEED).strip().splitlines()[-1])
    assert {"view_recoveryemail", "change_recoveryemail", "delete_recoveryemail"} <= set(seeded["permissions"])

    # When it is migrated to the new layout
    manage(upgrade_database, "migrate", "--noinput")

    # Then the rows are in the recovery app's table, the grants hold, and the old content type is gone
    after = json.loads(manage(upgrade_database, "shell", "-c", CHECK).strip().splitlines()[-1])
    assert after["table"] == "recovery_recoveryemail"
    assert after["rows"] == [
        [seeded["cart"], 1, "sent", "", ""],
        [seeded["cart"], 2, "failed", "SMTPRecipientsRefused: nope", ""],
        # A note kept in last_error before moved to its own field: last_error holds errors only
        [
            seeded["cart"],
            3,
            "cancelled",
            "",
            "Skipped: a later reminder step was already due when this one was planned.",
        ],
    ]
    # And the first campaign is what the shop sent before: CART_RECOVERY_EMAIL_STEPS, the old subjects, active
    assert after["campaigns"] == [
        [
            "Cart reminders",
            True,
            [
                [1, 1800, "You left something in your cart", True],
                [2, 7200, "Your cart is still waiting for you", True],
                [3, 86400, "Your cart is still waiting for you", True],
            ],
        ]
    ]
    assert after["linked"] == [1, 2, 3]  # every old reminder belongs to the step of its position
    assert after["sent"] == [["ada@shop.test", "You left something in your cart", 2]]  # the try that went out counts
    assert after["staff"] == ["recovery.change_recoveryemail", "recovery.view_recoveryemail"]
    assert after["manager"] == ["recovery.delete_recoveryemail"]
    assert after["old_content_types"] == 0
    assert set(after["recovery_permissions"]) == set(seeded["permissions"])  # carried over, none doubled
    assert after["admin_list"] == 200  # the staff member still reads the emails in the admin


def test_the_move_can_be_undone(upgrade_database):
    manage(upgrade_database, "migrate", "--noinput")
    manage(upgrade_database, "migrate", "recovery", "zero", "--noinput")  # carts 0007 goes with it

    tables = manage(
        upgrade_database,
        "shell",
        "-c",
        "from django.db import connection; print(sorted(t for t in connection.introspection.table_names()"
        " if 'recoveryemail' in t))",
    )
    assert tables.strip().splitlines()[-1] == "['carts_recoveryemail']"
