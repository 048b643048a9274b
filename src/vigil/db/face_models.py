"""Tables of facial recognition (issue 6): watchlists, subjects, enrolments, deployments, alerts."""

from __future__ import annotations
