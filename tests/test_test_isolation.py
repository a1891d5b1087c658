"""The suite runs on several pytest-xdist workers (make test, CI): each must have its own databases."""

import os

from django.conf import settings
from django.db import connection


def test_each_worker_has_its_own_test_database(db):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        return  # an in-memory database belongs to its process
    if worker:
        assert worker in name, f"worker {worker} shares the test database {name}"


def test_each_worker_has_its_own_redis_database():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("CACHE_URL", "")
    if not (worker.startswith("gw") and url.startswith("redis://")):
        return
    base_index = int(url.rpartition("/")[2] or 0)
    location = settings.CACHES["default"]["LOCATION"]
    assert location.rpartition("/")[2] == str(base_index + int(worker[2:]))
