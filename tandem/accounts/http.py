from django.http import HttpRequest

from tandem.accounts.models import User


class AuthedRequest(HttpRequest):
    """A request that passed LoginRequiredMiddleware: `user` is a real account, not AnonymousUser."""

    user: User
