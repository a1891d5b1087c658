"""What other apps derive from a case, brought up to date after the change that affects it commits.

The outcomes registry (tandem.outcomes) precomputes each case's figures from its scores, plan, phases,
partners and problems; the apps that store those sit below outcomes and may not import it. So their
services call `case_changed_later(case_id=...)` inside their transaction, and the apps that derive from
cases register a handler once at start-up (`on_case_changed`, from their AppConfig.ready). Each handler
runs after commit with robust=True: a failure is logged and never undoes the change that prompted it
(`manage.py outcomes_rebuild` catches up). A handler is given the case id only, and reads what it needs;
it runs once per case and transaction however many changes the transaction made to that case.
"""

from collections.abc import Callable

from django.db import transaction

CaseHandler = Callable[[int], None]
_handlers: list[CaseHandler] = []


def on_case_changed(handler: CaseHandler) -> CaseHandler:
    """Register HANDLER (once, however often this is called) to run after each case change commits."""
    if handler not in _handlers:
        _handlers.append(handler)
    return handler


def case_changed_later(*, case_id: int | None) -> None:
    if case_id is None:
        return
    # The callbacks already waiting for this transaction's commit (Django drops those of a rolled-back
    # savepoint itself); in autocommit on_commit runs the handler at once.
    waiting = {getattr(entry[1], "case_change", None) for entry in transaction.get_connection().run_on_commit}
    for handler in _handlers:
        if (handler, case_id) not in waiting:
            transaction.on_commit(_later(handler, case_id), robust=True)


def _later(handler: CaseHandler, case_id: int) -> Callable[[], None]:
    def run() -> None:
        handler(case_id)

    # What the check above looks for (a plain function, so that a failure is logged by its name).
    run.case_change = (handler, case_id)  # type: ignore[attr-defined]
    return run
