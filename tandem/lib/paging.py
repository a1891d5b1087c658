"""A paginator that counts only as far as anyone pages: `COUNT(*)` over a million-row table is the
slowest part of a page that shows fifty rows.

The count stops at `cap` rows (a subquery with LIMIT cap + 1, so the database reads no more than that);
past it the page says "more than N" and offers the first cap / per_page pages. Narrower filters find
the rest.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.core.paginator import Paginator


class CappedPaginator(Paginator):
    def __init__(self, object_list: Any, per_page: int, *, cap: int, **kwargs: Any) -> None:
        if cap < per_page:
            raise ValueError("the cap must hold at least one page")
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap

    @cached_property
    def _counted(self) -> int:
        rows: Any = self.object_list  # a QuerySet: only the ids of the first cap + 1 are read
        # Without the page's ORDER BY: any cap + 1 rows will do, and sorting first read every match.
        return int(rows.order_by().values("pk")[: self.cap + 1].count())

    @cached_property
    def count(self) -> int:
        """The number of rows, or the cap when there are more."""
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        """True when more rows match than were counted."""
        return self._counted > self.cap
