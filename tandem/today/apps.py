from django.apps import AppConfig


class TodayConfig(AppConfig):
    """The top layer: "/" and the staff Today page, which gather what every other app has to show."""

    name = "tandem.today"
