from django.apps import AppConfig


class HomeworkConfig(AppConfig):
    name = "tandem.homework"
