from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "tandem.outcomes"

    def ready(self) -> None:
        from tandem.outcomes.later import register

        register()
