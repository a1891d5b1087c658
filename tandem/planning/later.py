"""The kept intensive waiting list follows every change to a case: registered with `lib.later` at start-up.

Pathway's plan and phase services and scheduling's intensive bookings, moves and cancellations call
`tandem.lib.later.case_changed_later`; after their commit this rewrites that case's row (planning/waiting.py).
"""

from tandem.lib.later import on_case_changed


def waiting_after_change(case_id: int) -> None:
    # Imported here: the app registry is not ready when the AppConfig imports this module.
    from tandem.planning.waiting import waiting_refresh

    waiting_refresh(case_ids=[case_id])


def register() -> None:
    on_case_changed(waiting_after_change)
