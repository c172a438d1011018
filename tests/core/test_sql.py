"""core/sql.py: the ORM compiles the conditions of the hand-written statements (the sweep, the email planner), on
both databases."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import CharField, F, IntegerField, Value
from django.utils import timezone

from carts.models import Cart
from core.sql import insert_from_select, select_sql, where_sql
from recovery.models import RecoveryEmail
from tests.carts.factories import CartFactory

pytestmark = pytest.mark.django_db


def test_a_compiled_select_returns_what_the_queryset_returns(clock):
    old = CartFactory(last_updated=clock.now() - timedelta(days=2))
    CartFactory(last_updated=clock.now())
    carts = Cart.objects.filter(last_updated__lt=clock.now() - timedelta(days=1)).order_by("pk").values_list("pk")

    sql, params = select_sql(carts)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()

    assert rows == [(old.pk,)] == list(carts)


def test_a_compiled_where_drives_a_hand_written_update(clock):
    stale = CartFactory(last_updated=clock.now() - timedelta(days=2))
    fresh = CartFactory(last_updated=clock.now())
    rule = Cart.objects.filter(status=Cart.Status.ACTIVE, last_updated__lt=clock.now() - timedelta(days=1))

    condition, params = where_sql(rule)
    table = connection.ops.quote_name(Cart._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET item_count = 7 WHERE {condition}", params)

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.item_count, fresh.item_count) == (7, 0)


def test_insert_from_select_inserts_once_and_skips_the_rows_that_exist():
    carts = [CartFactory(status=Cart.Status.ABANDONED, abandoned_at=timezone.now()) for _ in range(3)]
    rows = (
        Cart.objects.filter(pk__in=[cart.pk for cart in carts])
        .order_by("pk")
        .annotate(
            r_created=F("abandoned_at"),
            r_step=Value(1, output_field=IntegerField()),
            r_status=Value("pending", output_field=CharField()),
        )
        .values_list("pk", "abandoned_at", "r_created", "r_step", "r_status")
    )
    fields = ["cart", "planned_at", "created_at", "step", "status"]  # the others take their database defaults

    first = insert_from_select(RecoveryEmail, fields=fields, rows=rows, conflict_fields=["cart", "step"])
    second = insert_from_select(RecoveryEmail, fields=fields, rows=rows, conflict_fields=["cart", "step"])

    assert (first, second) == (3, 0)
    assert sorted(RecoveryEmail.objects.values_list("cart_id", "step", "status")) == [
        (cart.pk, 1, "pending") for cart in carts
    ]


def test_insert_from_select_refuses_columns_django_would_reorder():
    rows = Cart.objects.annotate(r_step=Value(1, output_field=IntegerField())).values_list("pk", "r_step", "user_id")

    with pytest.raises(ValueError, match="columns, then the annotations"):
        insert_from_select(RecoveryEmail, fields=["cart", "step", "status"], rows=rows, conflict_fields=["cart"])
