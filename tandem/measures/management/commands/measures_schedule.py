"""`manage.py measures_schedule`: bring every in-care case's questionnaire schedule up to date.

Saving a phase change, plan, appointment or follow-up already does this for its case; run this daily
(cron, or beside the notify worker) as a backstop for records written without a save.
"""

from typing import Any

from django.core.management.base import BaseCommand

from tandem.measures.schedule import measures_schedule_all


class Command(BaseCommand):
    help = "Create the questionnaire requests clinic policy asks for, for every case in care."

    def handle(self, *args: Any, **options: Any) -> None:
        created = measures_schedule_all()
        self.stdout.write(f"{created} questionnaire request(s) created.")
