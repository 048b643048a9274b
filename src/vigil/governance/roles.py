"""Roles, the capabilities each may be trained for, and the administrative permissions of each."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"
    INVESTIGATOR = "investigator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    AUDITOR = "auditor"


class Capability(StrEnum):
    """An investigative capability: needs the role's grant *and* a current training record."""

    ANALYTICS = "analytics"
    RETROSPECTIVE_FR = "retrospective_fr"
    LIVE_FR = "live_fr"
    REGISTRY = "registry"
    REQUESTS = "requests"
    EXPORT = "export"

    @property
    def label(self) -> str:
        """What people call the capability (pages and messages never show the internal name)."""
        return CAPABILITY_LABELS[self]


CAPABILITY_LABELS = {
    Capability.ANALYTICS: "analytics (searching footage)",
    Capability.RETROSPECTIVE_FR: "retrospective facial recognition",
    Capability.LIVE_FR: "live facial recognition",
    Capability.REGISTRY: "camera registry",
    Capability.REQUESTS: "footage requests",
    Capability.EXPORT: "evidence export",
}


class Permission(StrEnum):
    """An administrative permission: granted by role alone."""

    MANAGE_USERS = "manage_users"
    RECORD_TRAINING = "record_training"
    MANAGE_LOCATIONS = "manage_locations"
    VIEW_AUDIT = "view_audit"
    RUN_RETENTION = "run_retention"
    VIEW_CAMERAS = "view_cameras"
    MANAGE_CASES = "manage_cases"


ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.OPERATOR: frozenset({Capability.ANALYTICS, Capability.LIVE_FR}),
    Role.INVESTIGATOR: frozenset(
        {
            Capability.ANALYTICS,
            Capability.RETROSPECTIVE_FR,
            Capability.REGISTRY,
            Capability.REQUESTS,
            Capability.EXPORT,
        }
    ),
    Role.SUPERVISOR: frozenset(Capability),
    # Administrators and auditors run and check the system; they do not investigate.
    Role.ADMIN: frozenset(),
    Role.AUDITOR: frozenset(),
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: frozenset({Permission.VIEW_CAMERAS}),
    Role.INVESTIGATOR: frozenset({Permission.VIEW_CAMERAS}),
    Role.SUPERVISOR: frozenset(
        {
            Permission.RECORD_TRAINING,
            Permission.MANAGE_LOCATIONS,
            Permission.VIEW_AUDIT,
            Permission.VIEW_CAMERAS,
            Permission.MANAGE_CASES,
        }
    ),
    Role.ADMIN: frozenset(
        {
            Permission.MANAGE_USERS,
            Permission.RECORD_TRAINING,
            Permission.MANAGE_LOCATIONS,
            Permission.VIEW_AUDIT,
            Permission.RUN_RETENTION,
            Permission.VIEW_CAMERAS,
        }
    ),
    Role.AUDITOR: frozenset({Permission.VIEW_AUDIT, Permission.VIEW_CAMERAS}),
}


def role_grants_capability(role: str, capability: Capability) -> bool:
    return capability in ROLE_CAPABILITIES.get(Role(role), frozenset())


def role_has_permission(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(Role(role), frozenset())
