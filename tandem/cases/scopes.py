"""The sets of case ids a person reaches (assigned to them, or theirs as a partner), written as SQL once.

A page nests the user's case scope inside nearly every one of its queries (Today 18 of them, the case page
30), and Django builds and compiles a nested queryset afresh each time: for a therapist the scope's UNION
and its team join were about a third of Today's time, more than the database spent answering. As RawSQL
the text is built once per process from the models' own table and column names, and only the parameters
change; the database still evaluates the scope inside every query, so nothing is cached across writes.

The only interpolations below are quoted table and column names taken from the models; every value is a
query parameter (hence the S608/S611 exemptions).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model
from django.db.models.expressions import RawSQL


class SqlNames:
    """Quoted table and column names of one model: names.table, names.col('field')."""

    def __init__(self, model: type[Model]) -> None:
        self.meta = model._meta
        self.table = connection.ops.quote_name(self.meta.db_table)

    def col(self, name: str) -> str:
        field = self.meta.get_field(name)
        assert isinstance(field, Field) and field.column  # a concrete column, not a reverse relation
        return f"{self.table}.{connection.ops.quote_name(field.column)}"


def evaluated_first(sql: str) -> str:
    """The ids of `sql` as PostgreSQL should use them: gathered first (an InitPlan), then looked up one by
    one. Given the UNION itself, its planner guessed thousands of ids for a team it cannot see into and
    read the whole case index at 20,000 cases to join them; an unnested array is guessed small, so every
    scoped query costs what the user's caseload costs, whatever the size of the practice. SQLite already
    runs an IN (subquery) this way."""
    if connection.vendor == "postgresql":
        return f"SELECT unnest(ARRAY({sql}))"
    return sql


@cache
def assigned_sql(columns: tuple[str, ...] = ("id",)) -> str:
    """Cases whose therapist is the user, or whose co-therapy team has them as first or second member
    (parameters: the user's id three times), with the given columns of each case."""
    from tandem.cases.models import Case

    case = SqlNames(Case)
    team = SqlNames(Case._meta.get_field("team").related_model)
    members = f"{team.col('first')} = %s OR {team.col('second')} = %s"
    teams = f"SELECT {team.col('id')} FROM {team.table} WHERE {members}"  # noqa: S608
    select = ", ".join(case.col(name) for name in columns)
    return (
        f"SELECT {select} FROM {case.table} WHERE {case.col('therapist')} = %s "  # noqa: S608
        f"UNION SELECT {select} FROM {case.table} WHERE {case.col('team')} IN ({teams})"
    )


def assigned_ids(user_id: Any) -> RawSQL:
    return RawSQL(evaluated_first(assigned_sql()), (user_id, user_id, user_id))  # noqa: S611


def assigned_phases(user_id: Any) -> list[tuple[int, str]]:
    """(id, phase) of every case assigned to the user, straight from the two indexed lookups: nested as
    `id IN (the scope)`, PostgreSQL looked each case up again by its key (2.2 ms for 650 cases, 0.8)."""
    with connection.cursor() as cursor:
        cursor.execute(assigned_sql(("id", "phase")), (user_id, user_id, user_id))
        return [(pk, phase) for pk, phase in cursor.fetchall()]


@cache
def partner_sql() -> str:
    """Cases where the user's client record is partner A or partner B, each its own indexed lookup: an OR
    across the two partner joins read every case of the practice (parameters: the user's id twice)."""
    from tandem.cases.models import Case, Client

    case, client = SqlNames(Case), SqlNames(Client)
    theirs = f"SELECT {client.col('id')} FROM {client.table} WHERE {client.col('user')} = %s"  # noqa: S608
    return (
        f"SELECT {case.col('id')} FROM {case.table} WHERE {case.col('partner_a')} IN ({theirs}) "  # noqa: S608
        f"UNION SELECT {case.col('id')} FROM {case.table} WHERE {case.col('partner_b')} IN ({theirs})"
    )


def partner_ids(user_id: Any) -> RawSQL:
    return RawSQL(evaluated_first(partner_sql()), (user_id, user_id))  # noqa: S611
