"""Roles and what each may do: the one table every page and command checks.

A page or action asks for one *permission*; a role holds a set of them. Change access by
editing :data:`ROLE_PERMISSIONS`, nothing else. ``python -m tracing users roles`` prints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, TypeAlias, get_args

from tracing.errors import AccessError

Role: TypeAlias = Literal["investigator", "analyst", "supervisor", "admin"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)

PERMISSIONS: Final[Mapping[str, str]] = {
    "map": "see the city map and the camera registry",
    "search": "find a vehicle by plate (reason required)",
    "trace": "reconstruct a vehicle's routes (reason required)",
    "export": "download reads and routes (reason required)",
    "cases": "attach reads to a case (kept beyond the retention period)",
    "recognise": "read plates from uploaded images and video",
    "review": "confirm or correct the plate of a read, and work the review queue",
    "alerts_view": "see the alerts raised on watchlists and geofences",
    "alerts": "acknowledge and dismiss alerts",
    "geofences": "create, edit and delete geofences (reason required)",
    "watchlists": "create, edit and delete watchlist entries (reason required)",
    "coverage": "see coverage gaps and the camera placement planner",
    "health": "see camera health",
    "audit": "read, filter, export and verify the audit log",
    "registry": "replace the camera registry",
    "devices": "create, rotate and revoke the keys cameras post their events with",
    "users": "add users, reset passwords, change roles, disable accounts",
    "retention": "set the retention periods and purge old reads",
}
"""Every permission with what it allows."""

ROLE_PERMISSIONS: Final[Mapping[Role, frozenset[str]]] = {
    "investigator": frozenset({"map", "search", "trace", "export", "cases", "recognise",
                               "review", "alerts_view"}),
    "analyst": frozenset({"map", "geofences", "watchlists", "alerts", "alerts_view",
                          "recognise", "review"}),
    "supervisor": frozenset({"map", "coverage", "health", "audit"}),
    "admin": frozenset(PERMISSIONS),
}
"""What each role may do (an administrator may do everything)."""


def check_role(role: str) -> Role:
    """``role`` as a :data:`Role`; AccessError naming it when it is not one."""
    for known in ROLES:
        if role == known:
            return known
    raise AccessError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")


def allowed(role: str, permission: str) -> bool:
    """Whether ``role`` holds ``permission`` (ValueError for a permission not in the table:
    a typo in the code, never a user's input)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}; see tracing.access.roles")
    return permission in ROLE_PERMISSIONS.get(role, frozenset())  # type: ignore[call-overload]


def permission_table() -> list[dict[str, object]]:
    """Rows ``permission``, ``what`` and one allowed flag per role (for reports and pages)."""
    return [{"permission": p, "what": what, **{r: p in ROLE_PERMISSIONS[r] for r in ROLES}}
            for p, what in PERMISSIONS.items()]
