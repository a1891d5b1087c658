from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The peer address. Behind a proxy, the proxy must overwrite REMOTE_ADDR (see README)."""
    return request.META.get("REMOTE_ADDR") or None
