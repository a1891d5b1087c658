import pytest

from tests.cast import Cast, build_cast


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    # Argon2 is right for production but makes building the cast slow; the hashing itself is Django's.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()
