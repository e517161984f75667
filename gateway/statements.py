"""Two writes as one SQL statement where PostgreSQL allows it: a row inserted together with an update of others.

The INSERT runs as a data-modifying CTE of the UPDATE (`WITH inserted AS (INSERT …) UPDATE …`), both built by
Django's own SQL compilers, so field conversions, defaults and `pre_save` values are what `save()` and
`QuerySet.update()` would use. One round trip, and the two succeed or fail together. Other databases get the two
statements.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, models, router
from django.db.models import sql
from django.db.models.fields import AutoFieldMixin


def insert_and_update(instance: models.Model, rows: models.QuerySet[Any], values: dict[str, Any]) -> int:
    """INSERT the unsaved `instance` and UPDATE `rows` with `values`; returns how many rows the UPDATE changed.
    Neither happens if either fails."""
    connection = connections[rows.db]
    if connection.vendor != "postgresql":
        instance.save(force_insert=True, using=rows.db)
        return rows.update(**values)
    # A primary key the database assigns (an auto field) is left out; it is not read back onto `instance`.
    fields = [
        field
        for field in instance._meta.concrete_fields
        if not (field.primary_key and getattr(instance, field.attname) is None)
    ]
    insert = sql.InsertQuery(type(instance))
    insert.insert_values(fields, [instance])
    ((insert_sql, insert_params),) = insert.get_compiler(connection=connection).as_sql()
    update = rows.query.chain(sql.UpdateQuery)
    update.add_update_values(values)
    update_sql, update_params = update.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"WITH inserted AS ({insert_sql}) {update_sql}", (*insert_params, *update_params))
        changed = int(cursor.rowcount)
    instance._state.adding = False
    instance._state.db = rows.db
    return changed


# The INSERT text per model and database, compiled once by Django's compiler (the fields and their order fixed).
_insert_sql: dict[tuple[type[models.Model], str], tuple[str, list[models.Field[Any, Any]]]] = {}


def insert_row(instance: models.Model, *, using: str | None = None) -> None:
    """INSERT the unsaved `instance` as `save(force_insert=True)` would, without building the query each time.

    For rows written on every request (the call log, a write's mutation), where Django's query building costs
    more than the round trip. The statement text comes from Django's own insert compiler, once per model and
    database; each call takes the values as that compiler does (each field's `pre_save(add=True)`, then
    `get_db_prep_save`).
    A primary key the database assigns (an auto field) is left out and not read back, one set in Python (a UUID
    default) is written; no signals are sent (none are connected to the models written this way); the instance
    is marked saved, as `save()` marks it."""
    using = using or router.db_for_write(type(instance))
    connection = connections[using]
    key = (type(instance), using)
    compiled = _insert_sql.get(key)
    if compiled is None:
        fields = [
            field
            for field in instance._meta.concrete_fields
            if not (field.primary_key and isinstance(field, AutoFieldMixin))
        ]
        insert = sql.InsertQuery(type(instance))
        insert.insert_values(fields, [instance])
        ((text, _params),) = insert.get_compiler(connection=connection).as_sql()
        compiled = _insert_sql[key] = (text, fields)
    text, fields = compiled
    params = [field.get_db_prep_save(field.pre_save(instance, True), connection=connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(text, params)
    instance._state.adding = False
    instance._state.db = using
