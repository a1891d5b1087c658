"""What the notify worker runs on each pass: close the Janus rooms of sessions that are over. A Janus that
does not answer is logged and tried again on the next pass; it never stops the reminders."""

import logging

from tandem.audit.actors import NOTIFY_WORKER
from tandem.video import janus
from tandem.video.services import VideoUnavailable, video_rooms_close

logger = logging.getLogger(__name__)


def video_rooms_close_due() -> int:
    if not janus.enabled():
        return 0
    try:
        return video_rooms_close(actor=NOTIFY_WORKER)
    except VideoUnavailable:
        logger.warning("video.rooms_close_failed")
        return 0
