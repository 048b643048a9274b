"""Server-rendered pages for people (not part of the OpenAPI schema)."""
