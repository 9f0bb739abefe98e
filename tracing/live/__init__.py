"""Live feeds: plate events pushed by the cameras, and the services that take them in.

- :mod:`tracing.live.events`: one camera event as any vendor reports it (before it is a read).
- :mod:`tracing.live.hikvision`, :mod:`tracing.live.dahua`: the vendors' event formats.
- :mod:`tracing.live.devices`: the credential of each posting device (camera or NVR).
- :mod:`tracing.live.receiver`: the HTTP receiver (ASGI); acknowledges an event once it is
  durable in the spool.
- :mod:`tracing.live.heartbeats`: liveness of the stream workers' cameras.
"""
