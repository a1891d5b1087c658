from django.apps import AppConfig


class PathwayConfig(AppConfig):
    name = "tandem.pathway"
