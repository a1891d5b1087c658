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

`field__any_of=ids`: the column equals one of a list of ids, passed on PostgreSQL as one array
parameter (`= ANY(%s)`), so that the query's text, and so its kept plan, is the same however many ids
there are (an IN list has a parameter per id: a new text, planned afresh, for every length). Elsewhere
an ordinary IN list.
"""

from __future__ import annotations

import re
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


class AnyOf(Lookup):
    lookup_name = "any_of"
    # The list goes to the database whole, as one array, not through the field.
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, params = self.process_lhs(compiler, connection)
        ids = [int(v) for v in self.rhs]
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", (*params, ids)
        if not ids:
            raise EmptyResultSet  # matches nothing: Django answers without asking the database
        return f"{lhs} IN ({', '.join(['%s'] * len(ids))})", (*params, *ids)


IntegerField.register_lookup(AnyOf)
ForeignKey.register_lookup(AnyOf)
