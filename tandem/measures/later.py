"""The one call other apps' services make when they change what the measurement schedule reads.

Services call `measures_schedule_later(case_id=...)` inside their transaction; the schedule is derived
after commit, so a failure there is logged and never undoes the change that prompted it (the
`measures_schedule` command catches up). Calling it explicitly, rather than from save signals, keeps the
workflow readable from the service and also covers rows written with bulk_create, which sends no signal.
"""

from django.db import transaction


def measures_schedule_later(*, case_id: int | None) -> None:
    if case_id is None:
        return

    def run() -> None:
        # Imported here: the schedule reads cases, pathway and scheduling models, whose services call this.
        from tandem.measures.schedule import measures_schedule_for_case

        measures_schedule_for_case(case_id)

    transaction.on_commit(run, robust=True)
