"""Querysets whose SQL is compiled once per worker and then run with each request's own values.

Django compiles every queryset afresh: it walks the filters, resolves each join, and quotes every column
of every select_related table. On the case page that was a quarter of the request (26 queries, most of
them "the rows of this one case", the same text each time with another case id); under load, with two
workers for ten clients, that CPU is what the clients wait for.

A remembered query is a module-level function that builds a queryset from keyword values only (ids,
dates, datetimes, strings, `Ids`):

    @remembered_query
    def _consents(*, case_id: int) -> QuerySet[TreatmentConsent]:
        return TreatmentConsent.objects.filter(case_id=case_id).select_related("recorded_by")

    consents = _consents.rows(case_id=case.pk)   # a list, as list(queryset) would give

The first call builds the queryset twice with two sets of stand-in values, compiles both, and keeps the
SQL and where each value lands among the parameters (the same idea as lib/urls.py's `reverse_ids`). The
two compilations must give the same SQL, and the parameters may differ only where a value was placed:
otherwise the shape of the query depends on a value (or a parameter is computed from one) and the first
call says so rather than remembering it. Later calls run the remembered SQL with the real values put in
those places; the rows are turned into model instances (and prefetched) by Django, as for any queryset.

What a builder may not do, because the stand-ins would hide it: branch on a value, pass None (that is
`IS NULL`, another shape), or read anything but module constants (a row id read from the database would
be remembered across databases; today's date would be remembered past midnight, so a date or time that
is not a value is refused on PostgreSQL, where parameters keep their types). With
TANDEM_CHECK_REMEMBERED_QUERIES on (the test suite turns it on), every call is also compiled Django's
way and must match, so the whole suite checks every call site.

On SQLite an `Ids` is one parameter per id, a different text for each length, so a query given one is
built and compiled Django's way there (PostgreSQL sends the ids as one array); so is a query given an
integer beyond 64 bits, which Django answers with no rows rather than sending.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.sql.compiler import SQLCompiler

from tandem.lib.lookups import Ids

R = TypeVar("R")  # what the queryset yields: model instances, or tuples or dicts of values
Encode = Callable[[Any], Any]

_FIRST_ID = 987_654_321_000
_INT64 = (-(2**63), 2**63 - 1)


class RememberedQueryError(Exception):
    """A builder whose query cannot be remembered (a programming error, met on its first call)."""


def _stand_in(value: Any, round_: int, index: int) -> Any:
    """A value of VALUE's type that nothing real equals, different for each round and index."""
    offset = 1000 * round_ + index
    if isinstance(value, bool) or value is None:
        raise RememberedQueryError("a remembered query takes no booleans or None: each is its own query text")
    if isinstance(value, int):
        return _FIRST_ID + offset
    if isinstance(value, Ids):
        return Ids([_FIRST_ID + offset])
    if isinstance(value, dt.datetime):
        # The rounds days apart, so that a date taken from the value differs between them too.
        return dt.datetime(1901, 2, 3, tzinfo=dt.UTC) + dt.timedelta(days=round_, minutes=index)
    if isinstance(value, dt.date):
        return dt.date(1901, 2, 3) + dt.timedelta(days=offset)
    if isinstance(value, str):
        return f"\x1fremembered {offset}\x1f"
    raise RememberedQueryError(
        f"a remembered query takes ids, dates, datetimes and strings, not {type(value)}"
    )


def _encoders(value: Any, ops: Any, *, sent: Any) -> list[Encode]:
    """The forms in which a value of this type can reach the parameters: as it is, or as the backend
    adapts it (SQLite sends dates and datetimes as text; PostgreSQL an `Ids` as its array text, and an
    integer sometimes typed, as psycopg's Int8, which is what SENT, the parameter met, shows)."""
    if isinstance(value, int) and isinstance(sent, int) and not isinstance(sent, bool):
        return [type(sent)]
    if isinstance(value, Ids):
        return [lambda ids: ids.text]
    if isinstance(value, dt.datetime):
        return [lambda v: v, ops.adapt_datetimefield_value]
    if isinstance(value, dt.date):
        return [lambda v: v, ops.adapt_datefield_value]
    return [lambda v: v]


@dataclass(frozen=True)
class _Shape:
    template: QuerySet[Any]
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str, Encode], ...]  # parameter position, value name, how it is sent
    compiled: dict[str, Any]  # what Django's iterables read from a compiler that has run as_sql


_COMPILED = ("select", "klass_info", "annotation_col_map", "col_count", "has_extra_select")


class RememberedQuery(Generic[R]):
    def __init__(self, build: Callable[..., QuerySet[Any, R]]) -> None:
        self.build = build
        self._shapes: dict[tuple[tuple[str, type], ...], _Shape] = {}
        self.__doc__ = build.__doc__

    def queryset(self, **values: Any) -> QuerySet[Any, R]:
        """The queryset built Django's way (for what `rows` cannot do: chaining, counting, updating)."""
        return self.build(**values)

    def rows(self, **values: Any) -> list[R]:
        """The query's rows, as `list(self.queryset(**values))` would give them."""
        # Tandem reads one database; the shape is learnt on it.
        connection = connections[DEFAULT_DB_ALIAS]
        if any(_asked_django_s_way(value, connection) for value in values.values()):
            return list(self.build(**values))
        # A value of another type (a date for a datetime, text for an id) is sent differently by Django:
        # its own shape.
        key = tuple((name, type(values[name])) for name in sorted(values))
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = _learn(self.build, values, connection)
        params = list(shape.params)
        for position, name, encode in shape.slots:
            params[position] = encode(values[name])
        if getattr(settings, "TANDEM_CHECK_REMEMBERED_QUERIES", False):
            _check(self.build, values, shape.sql, tuple(params))
        queryset = shape.template._chain()  # type: ignore[attr-defined]  # a copy, as filter() makes
        queryset.query.get_compiler = functools.partial(  # type: ignore[method-assign]
            _compiler_with, shape, tuple(params), queryset.query
        )
        return list(queryset)

    def first(self, **values: Any) -> R | None:
        """The query's first row, or None: for a builder that slices itself to one row (`[:1]`)."""
        rows = self.rows(**values)
        return rows[0] if rows else None


def _asked_django_s_way(value: Any, connection: Any) -> bool:
    """An `Ids` on SQLite (one parameter per id), or an integer no column holds (an id typed into an
    address), which Django answers with no rows without asking the database."""
    if isinstance(value, Ids):
        return connection.vendor != "postgresql"
    return isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]


def remembered_query(build: Callable[..., QuerySet[Any, R]]) -> RememberedQuery[R]:
    return RememberedQuery(build)


def _compile(queryset: QuerySet[Any]) -> tuple[SQLCompiler, str, tuple[Any, ...]]:
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    return compiler, sql, tuple(params)


def _learn(build: Callable[..., QuerySet[Any]], values: dict[str, Any], connection: Any) -> _Shape:
    names = sorted(values)
    rounds = [{n: _stand_in(values[n], r, i) for i, n in enumerate(names)} for r in (0, 1)]
    built = [build(**stand_ins) for stand_ins in rounds]
    compiled = [_compile(queryset) for queryset in built]
    (compiler, sql, params), (_, other_sql, other_params) = compiled
    where = build.__qualname__
    if sql != other_sql or len(params) != len(other_params):
        raise RememberedQueryError(f"{where}: the query's text depends on its values")
    slots = []
    for position, (first, second) in enumerate(zip(params, other_params, strict=True)):
        found = [
            (name, encode)
            for name in names
            for encode in _encoders(values[name], connection.ops, sent=first)
            if _same(first, encode(rounds[0][name])) and _same(second, encode(rounds[1][name]))
        ]
        if found:
            slots.append((position, *found[0]))
        elif not _same(first, second):
            raise RememberedQueryError(f"{where}: parameter {position} is computed from a value")
        elif isinstance(first, dt.date):
            # Most likely today's date or the time now, read inside the builder: remembered, it would
            # stay the first call's for the life of the worker.
            raise RememberedQueryError(f"{where}: a date or time must be given as a value, not read inside")
    missing = set(names) - {name for _, name, _ in slots}
    if missing:
        raise RememberedQueryError(f"{where}: {sorted(missing)} never reach the query as given")
    return _Shape(
        template=built[0],
        sql=sql,
        params=params,
        slots=tuple(slots),
        compiled={name: getattr(compiler, name) for name in _COMPILED},
    )


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _check(
    build: Callable[..., QuerySet[Any]], values: dict[str, Any], sql: str, params: tuple[Any, ...]
) -> None:
    _, expected_sql, expected_params = _compile(build(**values))
    if (sql, params) != (expected_sql, expected_params):
        raise RememberedQueryError(
            f"{build.__qualname__}: the remembered query differs from Django's for {sorted(values)}"
        )


def _compiler_with(
    shape: _Shape,
    params: tuple[Any, ...],
    query: Any,
    using: str | None = None,
    connection: Any = None,
    elide_empty: bool = True,
) -> SQLCompiler:
    """A compiler for this call that answers as_sql with the remembered text and this call's values,
    holding what compiling would have left on it for Django's iterables."""
    compiler = type(query).get_compiler(query, using, connection, elide_empty)
    for name, value in shape.compiled.items():
        setattr(compiler, name, value)
    compiler.as_sql = lambda *args, **kwargs: (shape.sql, params)  # type: ignore[method-assign]
    return compiler
