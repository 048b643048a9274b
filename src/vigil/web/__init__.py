"""The web application: server-rendered pages for people and a JSON API (``/api/v1``) for programs.

Routes are thin: they parse a request, call a governance service (which checks permissions and writes
the audit entry) and render the result. Build the app with :func:`vigil.web.app.create_app`.
"""
