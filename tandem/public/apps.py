from django.apps import AppConfig


class PublicConfig(AppConfig):
    name = "tandem.public"

    def ready(self) -> None:
        # The notify worker asks this app what its queued e-mails say when it sends them.
        from tandem.notify.mail import register
        from tandem.notify.models import JobKind
        from tandem.public.services import duplicate_email

        register(JobKind.CONSULTATION_DUPLICATE, duplicate_email)
