"""Two lookups for queries that PostgreSQL keeps the plan of.

`field__literal_in=CONSTANTS`: an IN whose values are written into the query text.

On PostgreSQL a query that a connection runs often is prepared and may run on a generic plan, made
without the values of its parameters (settings: `prepare_threshold`). A partial index whose condition
compares with values (the open phases of a case, the unpaid statuses of an invoice) can serve a query
only when the planner can see that the query's values imply the condition: with the values as
parameters it cannot, and the kept plan walks a larger index instead (the director's Today list of open
cases waiting for a next session took 6-7 ms instead of 1). Written into the text, the same values keep
the partial index usable on every plan.

Only for the code's own constants (choices of a model field): each value must be a plain lower-case
word, so nothing a user typed can ever reach the query text this way; anything else is refused.

`field__any_of=Ids(...)`: the column equals one of a list of ids, passed on PostgreSQL as one array
parameter (`= ANY(%s::bigint[])`), so that the query's text, and so its kept plan, is the same however
many ids there are (an IN list has a parameter per id: a new text, planned afresh, for every length).
Elsewhere an ordinary IN list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import CharField, ForeignKey, IntegerField, Lookup

_PLAIN = re.compile(r"[a-z][a-z0-9_]*")


class LiteralIn(Lookup):
    lookup_name = "literal_in"
    # The values are never passed through the field (that would make one string of the tuple).
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, params = self.process_lhs(compiler, connection)
        if not all(isinstance(v, str) for v in self.rhs):
            raise ValueError("literal_in takes the code's own string constants")
        values = tuple(str(v) for v in self.rhs)  # a choices member prints as its value
        if not values or not all(_PLAIN.fullmatch(v) for v in values):
            raise ValueError("literal_in takes a non-empty tuple of the code's own lower-case constants")
        # Safe to write into the text: every value matched _PLAIN above (no quote can occur).
        quoted = ", ".join(f"'{value}'" for value in values)
        return f"{lhs} IN ({quoted})", tuple(params)


CharField.register_lookup(LiteralIn)


class Ids:
    """A fixed set of row ids for `__any_of`, kept in the form each database is sent.

    Not a list or tuple on purpose: Django resolves every member of a list given to a lookup as a
    possible expression, and psycopg dumps a list to an array one member at a time; with a therapist's
    650 cases in nine of Today's lists that was a tenth of the page. The array's text is made once
    here, sent as one string, and PostgreSQL parses it."""

    __slots__ = ("ids", "text")

    def __init__(self, ids: Iterable[Any]) -> None:
        self.ids = tuple(int(pk) for pk in ids)
        self.text = "{" + ",".join(str(pk) for pk in self.ids) + "}"

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ids) and other.ids == self.ids

    def __hash__(self) -> int:
        return hash(self.ids)

    def __repr__(self) -> str:
        return f"Ids({len(self.ids)})"


class AnyOf(Lookup):
    lookup_name = "any_of"
    # The ids go to the database whole, as one array, not through the field.
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, params = self.process_lhs(compiler, connection)
        ids = self.rhs if isinstance(self.rhs, Ids) else Ids(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::bigint[])", (*params, ids.text)
        if not ids.ids:
            raise EmptyResultSet  # matches nothing: Django answers without asking the database
        return f"{lhs} IN ({', '.join(['%s'] * len(ids.ids))})", (*params, *ids.ids)


IntegerField.register_lookup(AnyOf)
ForeignKey.register_lookup(AnyOf)
