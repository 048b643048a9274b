"""The key that signs session cookies and export manifests: configured, or generated once into the data folder."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from vigil.settings import Settings


def secret_key(settings: Settings) -> str:
    """The configured session-signing key, or one generated once into the data folder (mode 0600)."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value()
    path: Path = settings.data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
