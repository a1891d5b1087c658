from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "tandem.portal"

    def ready(self) -> None:
        # The notify worker asks this app what its queued e-mails say when it sends them.
        from tandem.notify.mail import register
        from tandem.notify.models import JobKind
        from tandem.portal.services import invitation_email

        register(JobKind.INVITATION, invitation_email)
