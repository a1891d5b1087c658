from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "tandem.claims"
    verbose_name = "Insurance claims"
