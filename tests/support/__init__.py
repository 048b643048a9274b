"""Builders and real servers (PostgreSQL, SMTP, the web app) for the tests."""
