"""Numbered screenshots of a journey, one folder per test: /tmp/journeys/<test>/NN-step.png, for a person to look at."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path("/tmp/journeys")


class Shots:
    """Takes the journey's screenshots in order; the folder is emptied when the journey starts."""

    def __init__(self, test: str) -> None:
        self.folder = ROOT / test
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.count = 0

    def take(self, page: Page, step: str, *, full_page: bool = True) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path
