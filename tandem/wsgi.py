import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tandem.settings")
application = get_wsgi_application()

from tandem.lib.startup import settle  # noqa: E402 -- needs the settings that get_wsgi_application loaded

settle()
