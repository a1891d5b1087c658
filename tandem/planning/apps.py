from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "tandem.planning"

    def ready(self) -> None:
        from tandem.planning.later import register

        register()
