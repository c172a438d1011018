"""SQL compiled by the ORM, for the few statements the ORM cannot express as one statement.

The sweep's pick-mark-log batch (a data-modifying CTE on PostgreSQL, ``UPDATE … RETURNING`` on SQLite) and the email
planner's ``INSERT … SELECT … ON CONFLICT DO NOTHING`` are written by hand, but every condition in them is a queryset
compiled here: the business rules stay named ``Q`` objects, and the values stay parameters. These use Django's
compiler API (``Query.get_compiler``), internal but stable for years; tests/core/test_sql.py holds it on both
databases.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model, QuerySet


def select_sql(queryset: QuerySet) -> tuple[str, tuple]:
    """The queryset's SELECT (with its ORDER BY, LIMIT and locking clause) as SQL text and parameters."""
    sql, params = queryset.query.get_compiler(connection=connection).as_sql()
    return sql, tuple(params)


def where_sql(queryset: QuerySet) -> tuple[str, tuple]:
    """The queryset's WHERE condition alone, its columns qualified with the model's table, for a hand-written UPDATE
    or DELETE on that table."""
    query = queryset.query
    sql, params = query.get_compiler(connection=connection).compile(query.where)
    return sql, tuple(params)


def insert_from_select(
    model: type[Model], *, fields: Sequence[str], rows: QuerySet, conflict_fields: Sequence[str]
) -> int:
    """``INSERT INTO model (fields) SELECT … ON CONFLICT (conflict_fields) DO NOTHING``: one statement whatever the
    number of rows. ``rows`` is a ``values_list`` whose columns are ``fields`` in order. Returns the rows inserted.

    Django compiles a ``values_list`` with the model's columns first and the annotations after them, whatever order
    the names were given in; a list that mixes them otherwise would insert values into the wrong columns, so it is
    refused."""
    compiled_order = [*rows.query.values_select, *rows.query.annotation_select]
    if list(rows._fields) != compiled_order or len(compiled_order) != len(fields):
        raise ValueError(f"rows must list the model's columns, then the annotations, one per field: {rows._fields}")
    meta, quote = model._meta, connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in fields)
    conflict = ", ".join(quote(meta.get_field(name).column) for name in conflict_fields)
    select, params = select_sql(rows)
    statement = f"INSERT INTO {quote(meta.db_table)} ({columns}) {select} ON CONFLICT ({conflict}) DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return max(cursor.rowcount, 0)


def upsert_increments(
    model: type[Model], *, keys: Sequence[str], counters: Sequence[str], rows: Sequence[tuple]
) -> None:
    """Add to counters: ``INSERT … VALUES … ON CONFLICT (keys) DO UPDATE SET counter = counter + excluded.counter``,
    one statement for all ``rows`` (each the key values, then the counters' increments, in order)."""
    if not rows:
        return
    meta, quote = model._meta, connection.ops.quote_name
    table = quote(meta.db_table)
    columns = [quote(meta.get_field(name).column) for name in (*keys, *counters)]
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    conflict = ", ".join(quote(meta.get_field(name).column) for name in keys)
    updates = ", ".join(
        f"{quote(meta.get_field(name).column)} = {table}.{quote(meta.get_field(name).column)}"
        f" + excluded.{quote(meta.get_field(name).column)}"
        for name in counters
    )
    fields = [meta.get_field(name) for name in (*keys, *counters)]
    params = [
        field.get_db_prep_save(value, connection) for row in rows for field, value in zip(fields, row, strict=True)
    ]
    statement = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([placeholders] * len(rows))}"  # noqa: S608
        f" ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
