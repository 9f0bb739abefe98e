"""Access control, the audit trail and data retention.

- :mod:`tracing.access.roles`: roles and the one table of what each may do.
- :mod:`tracing.access.users`: accounts (argon2id hashes, lock-out, one-time passwords).
- :mod:`tracing.access.sessions`: login sessions that expire.
- :mod:`tracing.access.audit`: the tamper-evident, reason-required audit log.
"""

from __future__ import annotations

from tracing.access.audit import VerifyReport, record, verify
from tracing.access.roles import PERMISSIONS, ROLE_PERMISSIONS, ROLES, Role, allowed
from tracing.access.sessions import Session, resume, start_session
from tracing.access.users import User, authenticate, bootstrap_admin

__all__ = ["PERMISSIONS", "ROLES", "ROLE_PERMISSIONS", "Role", "Session", "User",
           "VerifyReport", "allowed", "authenticate", "bootstrap_admin", "record", "resume",
           "start_session", "verify"]
