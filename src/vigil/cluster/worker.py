"""What a Ray worker process keeps between the chunk tasks it runs: the detector, loaded once.

Ray runs task after task in the same worker process, so a worker analysing several chunks of a file (or of
several files) would otherwise load the detector's ONNX Runtime session once per chunk. :func:`worker_models`
gives the process its one :class:`WorkerModels`, made on first use (nothing at import time); a detector is
built under its lock, at most once per configuration (everything it is built from: the vision settings, the
detector's name and the job's low score), and the few most recently used configurations are kept.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict

from vigil.analysis.jobs import AnalysisSetup
from vigil.analysis.pipeline import analysis_detector, resolve
from vigil.settings import Settings
from vigil.vision.detect import Detector


class WorkerModels:
    """The detectors of one worker process, by configuration (at most ``keep`` of them, least recent dropped)."""

    def __init__(self, *, keep: int = 2) -> None:
        self.keep = max(1, keep)
        self.builds = 0
        """How many detectors this process has built."""
        self._lock = threading.Lock()
        self._detectors: OrderedDict[str, Detector] = OrderedDict()

    def detector(self, settings: Settings, setup: AnalysisSetup) -> tuple[Detector, bool]:
        """The detector an analysis of ``setup`` runs with ``settings``, and whether it was built by this call
        (False: this process already had it)."""
        options = resolve(settings, setup)
        key = json.dumps(
            {"vision": settings.vision.model_dump(mode="json"), "name": options.detector, "low": options.low_score},
            sort_keys=True,
        )
        with self._lock:
            found = self._detectors.get(key)
            if found is not None:
                self._detectors.move_to_end(key)
                return found, False
            built = analysis_detector(settings, options)
            self._detectors[key] = built
            while len(self._detectors) > self.keep:
                self._detectors.popitem(last=False)
            self.builds += 1
            return built, True


class _Process:
    """This process's :class:`WorkerModels`, made on first use."""

    lock = threading.Lock()
    models: WorkerModels | None = None
    pid = 0


def worker_models() -> WorkerModels:
    """The :class:`WorkerModels` of this process (a fresh one in a forked child: its parent's are not its own)."""
    with _Process.lock:
        if _Process.models is None or _Process.pid != os.getpid():
            _Process.models, _Process.pid = WorkerModels(), os.getpid()
        return _Process.models
