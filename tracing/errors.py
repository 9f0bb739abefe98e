"""Exceptions of the tracing package: one base class, a few specific ones.

Messages name the offending value; causes are chained with ``raise ... from``.
"""

from __future__ import annotations


class TracingError(Exception):
    """Base class of every error the tracing library raises on purpose."""


class PlateError(TracingError, ValueError):
    """A string is not a valid Vietnamese licence plate."""


class NetworkError(TracingError):
    """The road network cannot be built or loaded."""


class BoundaryError(TracingError):
    """A boundary file is missing or invalid."""


class RegistryError(TracingError, ValueError):
    """A camera registry file or row is invalid."""


class StoreError(TracingError):
    """The DuckDB store cannot be opened, migrated or written."""


class QueryError(StoreError, ValueError):
    """A query to the store has an invalid parameter (e.g. a time without a time zone)."""


class IngestError(StoreError, ValueError):
    """A batch of reads cannot be ingested at all (wrong columns, unreadable file)."""


class SimulationError(TracingError, ValueError):
    """A traffic simulation cannot run: bad parameters, inputs or output location."""


class SearchError(TracingError, ValueError):
    """A search, link, convoy or stakeout request is invalid (bad query, limit, filter)."""


class RouteError(TracingError, ValueError):
    """A route cannot be reconstructed: unknown plate or camera, too few sightings, bad input."""


class GeofenceError(TracingError, ValueError):
    """A geofence is invalid (not a polygon, empty, self-intersecting, outside the area) or
    unknown."""


class WatchlistError(TracingError, ValueError):
    """A watchlist entry or import is invalid (bad pattern, priority, expiry) or unknown."""


class AlertError(TracingError, ValueError):
    """An alert request is invalid (unknown alert, bad status) or the engine cannot run."""


class WebhookError(TracingError, ValueError):
    """The alert webhook is misconfigured (a URL that is not http(s), a bad token)."""


class CoverageError(TracingError, ValueError):
    """A coverage analysis or placement plan cannot run: bad parameters or inputs."""


class AccessError(TracingError):
    """Access refused: wrong credentials, a locked account, a missing permission, or an
    invalid user name, role or password."""


class AuditError(TracingError, ValueError):
    """An audit entry cannot be written (missing reason, bad action or parameters)."""


class RetentionError(TracingError, ValueError):
    """A retention policy or purge request is invalid."""


class EventError(TracingError, ValueError):
    """A camera event cannot be accepted: malformed body, unknown or foreign camera, bad
    timestamp, oversized or non-image attachment (the receiver answers 4xx with the reason)."""


class DeviceError(TracingError, ValueError):
    """A device credential request is invalid (bad id, vendor, cameras or channels) or the
    device is unknown."""


class ReviewError(TracingError, ValueError):
    """A read cannot be confirmed or corrected: unknown read, invalid plate, bad note."""
