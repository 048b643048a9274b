"""Investigator search over analysed footage, one sub-package per capability: query, similarity, synopsis, export,
dashboards and review marks."""
