"""Access control, the audit trail and data retention (import the modules you need; the
package itself imports nothing, so the CLI starts fast):

- :mod:`tracing.access.roles`: roles and the one table of what each may do.
- :mod:`tracing.access.users`: accounts (argon2id hashes, lock-out, one-time passwords).
- :mod:`tracing.access.sessions`: login sessions that expire.
- :mod:`tracing.access.audit`: the tamper-evident, reason-required audit log.
- :mod:`tracing.access.cases`: reads attached to a case (kept beyond retention).
- :mod:`tracing.access.retention`: the retention policy and its purge.
- :mod:`tracing.access.paths`: user-given paths stay inside their folder.
- :mod:`tracing.access.command`: the ``users``, ``audit`` and ``retention`` CLI commands.
"""
