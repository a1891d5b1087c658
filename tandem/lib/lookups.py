"""`field__literal_in=CONSTANTS`: an IN whose values are written into the query text.

On PostgreSQL a query that a connection runs often is prepared and may run on a generic plan, made
without the values of its parameters (settings: `prepare_threshold`). A partial index whose condition
compares with values (the open phases of a case, the unpaid statuses of an invoice) can serve a query
only when the planner can see that the query's values imply the condition: with the values as
parameters it cannot, and the kept plan walks a larger index instead (the director's Today list of open
cases waiting for a next session took 6-7 ms instead of 1). Written into the text, the same values keep
the partial index usable on every plan.

Only for the code's own constants (choices of a model field): each value must be a plain lower-case
word, so nothing a user typed can ever reach the query text this way; anything else is refused.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import CharField, Lookup

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
