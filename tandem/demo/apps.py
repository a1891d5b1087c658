from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The synthetic demo practice and `manage.py seed_demo`. No other app imports this one."""

    name = "tandem.demo"
