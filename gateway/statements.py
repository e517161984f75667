"""Two writes as one SQL statement where PostgreSQL allows it: a row inserted together with an update of others.

The INSERT runs as a data-modifying CTE of the UPDATE (`WITH inserted AS (INSERT …) UPDATE …`), both built by
Django's own SQL compilers, so field conversions, defaults and `pre_save` values are what `save()` and
`QuerySet.update()` would use. One round trip, and the two succeed or fail together. Other databases get the two
statements.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, models
from django.db.models import sql


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
