from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "tandem.outcomes"
