"""The address of the request being served, for audit events written deep inside services."""

from contextvars import ContextVar

current_ip: ContextVar[str | None] = ContextVar("tandem_audit_ip", default=None)
