"""Destroy on Janus the rooms of video sessions that are over (30 minutes after their end) or cancelled.

The notify worker does this on every pass; this command is for a cron entry where no worker runs, or by
hand. Whoever is still in a closed room is sent away, and their leaving is audited.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tandem.audit.actors import NOTIFY_WORKER
from tandem.video import janus
from tandem.video.services import VideoUnavailable, video_rooms_close


class Command(BaseCommand):
    help = "Destroy the Janus rooms of video sessions that are over."

    def handle(self, *args: Any, **options: Any) -> None:
        if not janus.enabled():
            self.stdout.write("Video is off (JANUS_URL is empty): no rooms to close.")
            return
        try:
            closed = video_rooms_close(actor=NOTIFY_WORKER)
        except VideoUnavailable as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Closed {closed} video room{'s' if closed != 1 else ''}.")
