"""Statements the hot path runs with less building: several writes as one SQL statement where PostgreSQL allows it
(rows inserted together with an update of others), rows inserted and updated with statements compiled once, and a
read whose query is compiled once (`PreparedGet`).

The INSERTs run as data-modifying CTEs of the last statement (`WITH i0 AS (INSERT …), i1 AS (INSERT …) UPDATE …`),
each built by Django's own SQL compilers, so field conversions, defaults and `pre_save` values are what `save()`
and `QuerySet.update()` would use. One round trip and, outside a transaction, one commit (each commit waits for
PostgreSQL's WAL flush, the largest cost of a write request's bookkeeping); they succeed or fail together. Other
databases get one statement each, in one transaction.

On PostgreSQL these statements run on a server-binding cursor (`prepared_cursor`), so psycopg prepares each text
the second time a database session runs it (`prepare_threshold` 1, gateway/settings/base.py) and PostgreSQL stops
parsing and planning it on every request: planning the connection's read with its four joins took longer than
running it (0.26 against 0.05 ms, `EXPLAIN ANALYZE`). A session that lives for one request (`CONN_MAX_AGE` 0) runs
each text once and never pays the extra round trip of preparing it. Django's own cursors bind on the client and
are never prepared.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections, models, router, transaction
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import sql
from django.db.models.fields import AutoFieldMixin
from django.db.models.query import get_related_populators

M = TypeVar("M", bound=models.Model)


@contextmanager
def prepared_cursor(connection: Any) -> Iterator[Any]:
    """A cursor of `connection` whose statements PostgreSQL can prepare: for texts that never change, only their
    values (this module's, the events' numbered INSERT). Any other database: its usual cursor.

    The same Django cursor wrapper as `connection.cursor()` (execute wrappers, query logging, error wrapping,
    thread checks) around psycopg's server-binding cursor, with the time zone set as Django sets it on its own
    cursors; the values are adapted by the connection's adapters, as for Django's cursors."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, ServerBindingCursor
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = ServerBindingCursor(connection.connection)
        tzloader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
        if connection.timezone != tzloader.timezone:
            register_tzloader(connection.timezone, raw)
        connection.validate_thread_sharing()
        cursor = _PreparedDebugWrapper(raw, connection) if connection.queries_logged else connection.make_cursor(raw)
    with cursor:
        yield cursor


class _PreparedDebugWrapper(CursorDebugWrapper):
    """Django's query log (DEBUG, CaptureQueriesContext) takes a statement's text from the psycopg cursor, which
    keeps none for a prepared statement: logged here with its values, as Django logs a client cursor's."""

    @contextmanager
    def debug_sql(
        self, sql: Any = None, params: Any = None, use_last_executed_query: bool = False, many: bool = False
    ) -> Iterator[None]:
        if use_last_executed_query and not many and sql is not None:
            # A log line only: a statement whose values cannot be shown raises its own error when it runs.
            with suppress(Exception):
                sql = self.db.ops.compose_sql(sql, params)
        with super().debug_sql(sql, params, use_last_executed_query=False, many=many):
            yield


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
    with prepared_cursor(connection) as cursor:
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
    with prepared_cursor(connection) as cursor:
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
    with prepared_cursor(connection) as cursor:
        cursor.execute(text, params)
        return int(cursor.rowcount)


# ---------------------------------------------------------------------------------------------- prepared reads


@dataclass(frozen=True)
class _CompiledGet:
    """What Django's compiler made of a prepared read, once per database: the text, the parameters with the
    positions each call's values go to, and what ModelIterable needs to build the instances."""

    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str], ...]  # (position in params, placeholder name)
    model: type[models.Model]
    init_list: tuple[str, ...]
    fields_start: int
    fields_end: int
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]  # (column, converters, expression)
    populators: tuple[Any, ...]
    annotation_col_map: tuple[tuple[str, int], ...]


class PreparedGet(Generic[M]):
    """One row of a query whose shape never changes, only its values: built by the ORM and compiled once per
    database, then each call runs the same statement text with its own values.

    For reads made on every request (the request's connection with its joins), where building and compiling the
    query cost more than PostgreSQL takes to answer it. `build` returns the queryset for keyword values;
    `placeholders` names the model field that converts each value (as a lookup on that field would). The first
    call builds the queryset once with a unique sentinel per value and notes where each sentinel lands among the
    compiled parameters; the statement text and the other parameters are Django's own. Rows become instances as
    `ModelIterable` makes them (same converters, `from_db`, select_related populators, annotations), so `get`
    answers what `build(**values).get()` answers: DoesNotExist for no row (ValidationError for a value the field
    rejects), MultipleObjectsReturned for more than one.
    """

    def __init__(self, build: Callable[..., models.QuerySet[M]], **placeholders: models.Field[Any, Any]) -> None:
        self._build = build
        self._placeholders = placeholders
        self._compiled: tuple[str, _CompiledGet] | None = None  # (database alias, what was compiled for it)

    def _compile(self) -> tuple[str, _CompiledGet]:
        sentinels = {name: self._sentinel(name, field) for name, field in self._placeholders.items()}
        queryset = self._build(**sentinels).order_by()
        using = queryset.db
        connection = connections[using]
        query = queryset.query.chain()
        query.set_limits(high=2)  # enough to tell one row from several, as get() limits itself
        compiler = query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        prepared = {
            name: self._placeholders[name].get_db_prep_value(value, connection, prepared=False)
            for name, value in sentinels.items()
        }
        slots = tuple(
            (position, name)
            for position, param in enumerate(params)
            for name, sentinel in prepared.items()
            if type(param) is type(sentinel) and param == sentinel
        )
        missing = set(prepared) - {name for _, name in slots}
        if missing:
            raise ValueError(f"placeholders not found in the compiled query: {sorted(missing)}")
        klass_info = compiler.klass_info
        assert klass_info is not None
        select = compiler.select
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        columns = [column[0] for column in select[: compiler.col_count]]
        compiled = _CompiledGet(
            sql=sql,
            params=tuple(params),
            slots=slots,
            model=klass_info["model"],
            init_list=tuple(column[0].target.attname for column in select[start:end]),
            fields_start=start,
            fields_end=end,
            converters=tuple(
                (position, tuple(converters), expression)
                for position, (converters, expression) in compiler.get_converters(columns).items()
            ),
            populators=tuple(get_related_populators(klass_info, select, using)),
            annotation_col_map=tuple((compiler.annotation_col_map or {}).items()),
        )
        self._compiled = (using, compiled)
        return using, compiled

    @staticmethod
    def _sentinel(name: str, field: models.Field[Any, Any]) -> Any:
        if isinstance(field, models.UUIDField):
            return uuid.uuid4()
        if isinstance(field, models.CharField | models.TextField):
            return f"prepared-get:{name}:{uuid.uuid4().hex}"
        raise TypeError(f"no sentinel for a {type(field).__name__} placeholder ({name})")

    def get(self, **values: Any) -> M:
        using, compiled = self._compiled or self._compile()
        connection = connections[using]
        params = list(compiled.params)
        for position, name in compiled.slots:
            field = self._placeholders[name]
            params[position] = field.get_db_prep_value(field.to_python(values[name]), connection, prepared=False)
        with prepared_cursor(connection) as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchmany(2)
        model = compiled.model
        if not rows:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")  # type: ignore[attr-defined]
        if len(rows) > 1:
            raise model.MultipleObjectsReturned(f"get() returned more than one {model._meta.object_name}")  # type: ignore[attr-defined]
        row = list(rows[0])
        for position, converters, expression in compiled.converters:
            value = row[position]
            for converter in converters:
                value = converter(value, expression, connection)
            row[position] = value
        instance = model.from_db(using, list(compiled.init_list), row[compiled.fields_start : compiled.fields_end])
        for populator in compiled.populators:
            populator.populate(row, instance)
        for attribute, position in compiled.annotation_col_map:
            setattr(instance, attribute, row[position])
        return instance  # type: ignore[return-value]
