"""The outcomes registry follows every change to a case: registered with `lib.later` at start-up.

The services that change an input of a case's outcome rows (a stored questionnaire response, opening a
case, a phase transition, a treatment plan, a partner added, the problems or the therapist changed) call
`tandem.lib.later.case_changed_later`; after their commit this refreshes that case's rows.
"""

from tandem.lib.later import on_case_changed


def outcome_rows_after_change(case_id: int) -> None:
    # Imported here: the app registry is not ready when the AppConfig imports this module.
    from tandem.outcomes.services import outcome_rows_refresh

    outcome_rows_refresh(case_ids=[case_id])


def register() -> None:
    on_case_changed(outcome_rows_after_change)
