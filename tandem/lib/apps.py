from django.apps import AppConfig


class LibConfig(AppConfig):
    name = "tandem.lib"
    label = "tandem_lib"

    def ready(self) -> None:
        from tandem.lib import (
            checks,  # noqa: F401  (registers the deploy checks)
            lookups,  # noqa: F401  (registers field__literal_in and field__any_of)
        )
