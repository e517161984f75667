"""Several writes as one SQL statement where PostgreSQL allows it: rows inserted together with an update of others.

The INSERTs run as data-modifying CTEs of the last statement (`WITH i0 AS (INSERT …), i1 AS (INSERT …) UPDATE …`),
each built by Django's own SQL compilers, so field conversions, defaults and `pre_save` values are what `save()`
and `QuerySet.update()` would use. One round trip and, outside a transaction, one commit (each commit waits for
PostgreSQL's WAL flush, the largest cost of a write request's bookkeeping); they succeed or fail together. Other
databases get one statement each, in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, models, router, transaction
from django.db.models import sql
from django.db.models.fields import AutoFieldMixin


def insert_and_update(instance: models.Model, rows: models.QuerySet[Any], values: dict[str, Any]) -> int:
    """INSERT the unsaved `instance` and UPDATE `rows` with `values`; returns how many rows the UPDATE changed.
    Neither happens if either fails."""
    return insert_all(instance, update=(rows, values))


def insert_all(
    *instances: models.Model, update: Update | tuple[models.QuerySet[Any], dict[str, Any]] | None = None
) -> int:
    """INSERT the unsaved `instances` (in this order) and, with `update` (rows, values), UPDATE those rows: one
    statement on PostgreSQL, so one round trip and, outside a transaction, one commit; all or nothing.

    Returns how many rows the UPDATE changed (0 without one). Other databases get one statement each, in a
    transaction so that they too succeed or fail together."""
    if not instances:
        raise ValueError("insert_all needs at least one row to insert")
    if isinstance(update, Update):
        using = update.using or router.db_for_write(update.model)
    else:
        using = update[0].db if update is not None else router.db_for_write(type(instances[-1]))
    connection = connections[using]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=using):
            for instance in instances:
                instance.save(force_insert=True, using=using)
            if isinstance(update, Update):
                return update_rows(update)
            return update[0].update(**update[1]) if update is not None else 0
    statements: list[tuple[str, Sequence[Any]]] = [
        _insert_sql_of(instance, connection, using) for instance in instances
    ]
    if isinstance(update, Update):
        statements.append(update.sql(connection))
    elif update is not None:
        rows, values = update
        query = rows.query.chain(sql.UpdateQuery)
        query.add_update_values(values)
        update_sql, update_params = query.get_compiler(connection=connection).as_sql()
        statements.append((update_sql, update_params))
    *ctes, (main_sql, main_params) = statements
    text = main_sql
    params: list[Any] = []
    if ctes:
        text = "WITH " + ", ".join(f"i{n} AS ({cte_sql})" for n, (cte_sql, _) in enumerate(ctes)) + f" {main_sql}"
        for _, cte_params in ctes:
            params.extend(cte_params)
    params.extend(main_params)
    with connection.cursor() as cursor:
        cursor.execute(text, params)
        changed = int(cursor.rowcount) if update is not None else 0
    for instance in instances:
        instance._state.adding = False
        instance._state.db = using
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
    text, params = _insert_sql_of(instance, connection, using)
    with connection.cursor() as cursor:
        cursor.execute(text, params)
    instance._state.adding = False
    instance._state.db = using


def _insert_sql_of(instance: models.Model, connection: Any, using: str) -> tuple[str, list[Any]]:
    """The INSERT of the unsaved `instance` and its parameters; the text compiled once per model and database.

    A primary key the database assigns (an auto field) is left out (an instance that sets one explicitly gets a
    statement of its own, compiled for it)."""
    pk = instance._meta.pk
    if pk is not None and isinstance(pk, AutoFieldMixin) and getattr(instance, pk.attname) is not None:
        insert = sql.InsertQuery(type(instance))
        insert.insert_values(list(instance._meta.concrete_fields), [instance])
        ((text, params),) = insert.get_compiler(connection=connection).as_sql()
        return text, list(params)
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
    return text, [field.get_db_prep_save(field.pre_save(instance, True), connection=connection) for field in fields]


@dataclass(frozen=True)
class Update:
    """`UPDATE model SET values WHERE each field in where = its value`, as `QuerySet.filter(**where).update(**values)`
    would write it, with the statement text built once per (model, where names, value names) instead of by the
    ORM on every call: for the updates every write request makes. Values are converted by their fields
    (`get_db_prep_save`, the WHERE values `get_db_prep_value`); no expressions, no NULL in `where`."""

    model: type[models.Model]
    where: dict[str, Any]
    values: dict[str, Any]
    using: str | None = None

    def sql(self, connection: Any) -> tuple[str, list[Any]]:
        key = (self.model, connection.alias, tuple(self.where), tuple(self.values))
        compiled = _update_sql.get(key)
        if compiled is None:
            meta = self.model._meta
            where_fields = [meta.pk if name == "pk" else meta.get_field(name) for name in self.where]
            value_fields = [meta.get_field(name) for name in self.values]
            quote = connection.ops.quote_name
            # Only the model's own table and column names, quoted by the backend; every value is a parameter.
            text = "UPDATE {} SET {} WHERE {}".format(  # noqa: S608
                quote(meta.db_table),
                ", ".join(f"{quote(field.column)} = %s" for field in value_fields),  # type: ignore[union-attr]
                " AND ".join(f"{quote(field.column)} = %s" for field in where_fields),  # type: ignore[union-attr]
            )
            compiled = _update_sql[key] = (text, value_fields, where_fields)
        text, value_fields, where_fields = compiled
        params: list[Any] = []
        for field, value in zip(value_fields, self.values.values(), strict=True):
            if hasattr(value, "resolve_expression"):
                raise TypeError(f"Update takes plain values, not expressions ({field.name})")
            params.append(field.get_db_prep_save(value, connection=connection))
        for field, value in zip(where_fields, self.where.values(), strict=True):
            if value is None or hasattr(value, "resolve_expression"):
                raise TypeError(f"Update matches plain values, not NULL or expressions ({field.name})")
            params.append(field.get_db_prep_value(value, connection=connection, prepared=False))
        return text, params


_update_sql: dict[tuple[Any, ...], tuple[str, list[Any], list[Any]]] = {}


def update_rows(update: Update) -> int:
    """Run `update` on its own; how many rows it changed."""
    using = update.using or router.db_for_write(update.model)
    connection = connections[using]
    text, params = update.sql(connection)
    with connection.cursor() as cursor:
        cursor.execute(text, params)
        return int(cursor.rowcount)
