"""The main menu: the pages a role can use, grouped by area so the menu fits one row. An area with one page is a
plain link; an area with several opens a small menu."""

from __future__ import annotations

from dataclasses import dataclass

from vigil.db.models import User
from vigil.governance.roles import Capability, role_grants_capability


@dataclass(frozen=True)
class MenuLink:
    href: str
    label: str
    section: str  # the ``section`` a page renders with, to mark the current page


@dataclass(frozen=True)
class MenuArea:
    label: str
    links: tuple[MenuLink, ...]

    def has(self, section: str) -> bool:
        return any(link.section == section for link in self.links)


def main_menu(user: User | None, perms: frozenset[str]) -> tuple[MenuArea, ...]:
    """The areas ``user`` sees, in order; areas with nothing the role may use are left out."""
    if user is None or user.must_change_password:
        return ()
    role = user.role
    analyst = role_grants_capability(role, Capability.ANALYTICS)
    case_worker = role in ("investigator", "supervisor")

    def links(*candidates: tuple[bool, str, str, str]) -> tuple[MenuLink, ...]:
        return tuple(MenuLink(href, label, section) for allowed, href, label, section in candidates if allowed)

    areas = (
        MenuArea("Home", links((True, "/", "Home", "home"))),
        MenuArea("Footage", links((analyst, "/footage", "Footage", "footage"))),
        MenuArea("Search", links((analyst, "/search", "Search", "search"))),
        MenuArea(
            "Analysis",
            links(
                (analyst, "/similar", "Search by example", "similar"),
                (analyst, "/dashboards", "Dashboards", "dashboards"),
                (analyst, "/synopsis", "Synopsis", "synopsis"),
                (case_worker, "/exports", "Exports", "exports"),
            ),
        ),
        MenuArea("Camera registry", links((case_worker, "/registry", "Camera registry", "registry"))),
        MenuArea(
            "Live cameras",
            links(
                (analyst, "/live/wall", "Camera wall", "live_wall"),
                ("view_cameras" in perms, "/live", "Camera health", "live"),
                (analyst, "/live/alerts", "Alert console", "live_alerts"),
                (analyst, "/live/rules", "Live rules", "live_rules"),
            ),
        ),
        MenuArea(
            "Facial recognition",
            links(
                (role in ("operator", "supervisor"), "/fr/deployments", "Live FR", "live_fr"),
                (role in ("operator", "investigator", "supervisor"), "/fr/watchlists", "Watchlists", "faces"),
                (case_worker, "/fr/retro", "Face search", "retro_fr"),
            ),
        ),
        MenuArea(
            "Administration",
            links(
                ("manage_cases" in perms, "/cases", "Cases", "cases"),
                ("record_training" in perms, "/users", "Users & training", "users"),
                ("view_cameras" in perms, "/locations", "Locations & PIAs", "locations"),
                ("view_audit" in perms, "/audit", "Audit log", "audit"),
                ("view_audit" in perms, "/retention", "Retention", "retention"),
            ),
        ),
    )
    return tuple(area for area in areas if area.links)
