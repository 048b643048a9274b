"""ONNX Runtime wrapper: a model file with lazily created session (nothing happens at import time).

:class:`OnnxModel` declares its file, its input (size, layout, colour order and scaling through an
:class:`~vigil.vision.preprocess.InputSpec`) and creates its ``InferenceSession`` on first use with the
thread count and execution providers given at construction. A missing, corrupt or tampered file
raises :class:`ModelLoadError` naming the file and how to rebuild it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vigil.vision.preprocess import InputSpec, Placement

REBUILD_HINT = "rebuild the bundled models with `vigil models build`"
DEFAULT_PROVIDERS = ("CPUExecutionProvider",)


def bundled_models_dir() -> Path:
    """The directory holding the ONNX models, manifest and licence shipped inside the package."""
    return Path(__file__).resolve().parent / "models"


class ModelLoadError(RuntimeError):
    """A model file is missing, unreadable, corrupt or does not match its recorded checksum."""

    def __init__(self, path: Path, reason: str, hint: str = REBUILD_HINT) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot load model {path}: {reason}; {hint}")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class OnnxModel:
    """One ONNX model file, its input conventions and a lazily created inference session.

    ``expected_sha256`` (the bundled models pass their manifest entry) is checked before loading so a
    damaged file is reported as such rather than producing wrong detections.
    """

    def __init__(
        self,
        path: Path,
        input_spec: InputSpec,
        *,
        threads: int = 1,
        providers: Sequence[str] = DEFAULT_PROVIDERS,
        expected_sha256: str | None = None,
        rebuild_hint: str = REBUILD_HINT,
    ) -> None:
        if threads < 1:
            raise ValueError("threads must be >= 1")
        self.path = Path(path)
        self.input_spec = input_spec
        self.threads = threads
        self.providers = tuple(providers)
        self.expected_sha256 = expected_sha256
        self.rebuild_hint = rebuild_hint
        self._session: Any = None
        self._effective_spec: InputSpec | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def session(self) -> Any:
        """The ``onnxruntime.InferenceSession``, created on first call."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._create_session()
        return self._session

    def _create_session(self) -> Any:
        if not self.path.is_file():
            raise ModelLoadError(self.path, "file not found", self.rebuild_hint)
        if self.expected_sha256 is not None:
            try:
                actual = sha256_file(self.path)
            except OSError as exc:
                raise ModelLoadError(self.path, f"unreadable ({exc})", self.rebuild_hint) from exc
            if actual != self.expected_sha256:
                raise ModelLoadError(self.path, "SHA-256 differs from the model manifest", self.rebuild_hint)
        import onnxruntime as ort  # heavy; imported only when a model is actually loaded

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        # Threads sleep instead of spin-waiting between runs: on a CCTV server many streams and the web share
        # the cores, and spinning workers steal them from everything else.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        try:
            return ort.InferenceSession(str(self.path), sess_options=options, providers=list(self.providers))
        except Exception as exc:  # onnxruntime raises its own exception classes (Fail, InvalidProtobuf, ...)
            raise ModelLoadError(self.path, f"not a valid ONNX model ({exc})", self.rebuild_hint) from exc

    @property
    def input_name(self) -> str:
        return str(self.session().get_inputs()[0].name)

    @property
    def output_names(self) -> list[str]:
        return [str(o.name) for o in self.session().get_outputs()]

    def input_shape(self) -> list[int | str | None]:
        return list(self.session().get_inputs()[0].shape)

    def effective_input_spec(self) -> InputSpec:
        """The input spec, with ``fixed_size`` filled in when the model's input has static spatial dims."""
        if self._effective_spec is None:
            spec = self.input_spec
            shape = self.input_shape()
            if spec.fixed_size is None and len(shape) == 4:
                h, w = (shape[1], shape[2]) if spec.layout == "nhwc" else (shape[2], shape[3])
                if isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0:
                    spec = replace(spec, fixed_size=(w, h))
            self._effective_spec = spec
        return self._effective_spec

    def prepare(
        self, image: npt.NDArray[np.uint8], long_side: int | None = None
    ) -> tuple[npt.NDArray[np.float32], Placement]:
        """Preprocess a BGR image into this model's input tensor (see :class:`InputSpec`)."""
        return self.effective_input_spec().prepare(image, long_side)

    def run(self, tensor: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.float32]]:
        """Run the model on one prepared input; outputs by name."""
        session = self.session()
        outputs = session.run(None, {self.input_name: tensor})
        return dict(zip(self.output_names, outputs, strict=True))

    def __call__(self, tensor: npt.NDArray[np.float32]) -> Mapping[str, npt.NDArray[np.float32]]:
        return self.run(tensor)
