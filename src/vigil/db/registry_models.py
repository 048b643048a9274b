"""Tables of the camera registry and footage requests (issue 5): owners, their cameras, requests, upload links."""

from __future__ import annotations
