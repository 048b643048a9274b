"""Per-detection work of the pipeline: appearance vectors for the tracker, and what each track record keeps.

For every tracked detection the :class:`Observer` adds an observation to its track's
:class:`~vigil.analysis.summary.TrackRecord` and offers its crop as the track's thumbnail (the largest,
sharpest, least occluded, most confident crop wins; only the best one is kept). Every two seconds or so (less
often as a track grows old) while the object is clearly visible, it samples clothing or body colours
(:mod:`vigil.vision.attributes`) and a segmented appearance vector (:mod:`vigil.vision.appearance`), from a
view of the box scaled down to at most ``sample_side`` pixels (:func:`scaled_view`).
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from vigil.analysis.summary import TrackRecord
from vigil.domain.detections import COCO_CLASSES, MOTOR_VEHICLE_CLASS_IDS, PERSON_CLASS_ID, Detections, Frame
from vigil.vision.appearance import appearance_vector
from vigil.vision.attributes import associate_carried, describe_vehicle, person_attributes
from vigil.vision.segment import ColourModelSegmenter, crop_box
from vigil.vision.track import colour_signatures

F32 = npt.NDArray[np.float32]


def occlusion(xyxy: F32) -> F32:
    """For each box, the largest fraction of its area covered by one other box."""
    n = len(xyxy)
    if n < 2:
        return np.zeros(n, dtype=np.float32)
    top_left = np.maximum(xyxy[:, None, :2], xyxy[None, :, :2])
    bottom_right = np.minimum(xyxy[:, None, 2:], xyxy[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    np.fill_diagonal(inter, 0)
    area = np.maximum(np.prod(np.clip(xyxy[:, 2:] - xyxy[:, :2], 0, None), axis=1), 1e-6)
    result: F32 = (inter.max(axis=1) / area).astype(np.float32)
    return result


def sharpness(crop: npt.NDArray[np.uint8]) -> float:
    """Variance of the Laplacian of the crop's grey image (higher is sharper)."""
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    return float(np.var(cv2.Laplacian(grey, cv2.CV_32F)))


class Observer:
    """See the module docstring."""

    def __init__(self, *, attributes: bool = True, sample_every_s: float = 2.0, sample_side: int = 128) -> None:
        self.attributes = attributes
        self.sample_every_s = sample_every_s
        self.sample_side = sample_side
        self._person = ColourModelSegmenter(shape="person")

    def features(self, image: npt.NDArray[np.uint8], detections: Detections) -> F32:
        """One cheap appearance vector per detection, for association."""
        return colour_signatures(image, detections.xyxy)

    def record(
        self,
        frame: Frame,
        result: Detections,
        carried: Detections,
        features: F32,
        records: dict[int, TrackRecord],
        *,
        confident: float,
    ) -> None:
        """Add the tracked rows of ``result`` to their records (creating records for new tracks)."""
        covered = occlusion(result.xyxy)
        people = np.flatnonzero((result.track_id >= 0) & (result.class_id == PERSON_CLASS_ID))
        # Only bags the detector is as sure of as of a person: on PETS09 CenterNet sees a "backpack" (score
        # 0.2-0.27) on nearly every 20-px-wide torso, which tagged all 22 people.
        carried = carried[carried.score >= confident]
        bags = associate_carried(result[people], carried) if len(carried) and len(people) else {}
        carried_by = {int(people[k]): v for k, v in bags.items()}
        for k in np.flatnonzero(result.track_id >= 0).tolist():
            record = records.setdefault(int(result.track_id[k]), TrackRecord())
            box, score, class_id = result.xyxy[k], float(result.score[k]), int(result.class_id[k])
            record.add(frame.index, frame.timestamp, box, score, class_id)
            edge = _at_edge(box, frame.width, frame.height)
            if score >= confident and covered[k] < 0.3 and len(features):
                record.add_signature(features[k])
            self._offer_thumbnail(record, frame, box, score * (1.0 - float(covered[k])) * (0.5 if edge else 1.0))
            for j in carried_by.get(k, []):
                record.carried[COCO_CLASSES[int(carried.class_id[j])]] += 1
            wait = max(self.sample_every_s, 0.5 * record.samples)
            # Sample while the object is clearly visible; until a track has a first sample, accept a partly
            # covered or edge view rather than leave it without colours (a person wheeling a bicycle is always
            # overlapped by it).
            clear = not edge and covered[k] < 0.15
            acceptable = clear or (record.samples == 0 and covered[k] < 0.6)
            if (
                self.attributes
                and acceptable
                and score >= confident  # detectors differ in score scale: CenterNet's run lower than NanoDet's
                and frame.timestamp - record.last_sample_t >= wait
            ):
                self._sample(record, frame, box, class_id)

    def _offer_thumbnail(self, record: TrackRecord, frame: Frame, box: F32, weight: float) -> None:
        x0, y0, x1, y1 = box.tolist()
        bound = (x1 - x0) * (y1 - y0) * weight
        if bound <= record.thumbnail_quality:
            return
        mx, my = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
        left, top = max(0, int(x0 - mx)), max(0, int(y0 - my))
        right, bottom = min(frame.width, int(np.ceil(x1 + mx))), min(frame.height, int(np.ceil(y1 + my)))
        if right - left < 2 or bottom - top < 2:
            return
        crop = frame.image[top:bottom, left:right]
        sharp = sharpness(crop)
        quality = bound * sharp / (sharp + 50.0)
        if quality > record.thumbnail_quality:
            record.thumbnail = crop.copy()
            record.thumbnail_quality = quality
            record.thumbnail_frame = frame.index

    def _sample(self, record: TrackRecord, frame: Frame, box: F32, class_id: int) -> None:
        image, box = scaled_view(frame.image, box, self.sample_side)
        if class_id == PERSON_CLASS_ID:
            silhouette = self._person.segment(image, box)
            attributes = person_attributes(image, silhouette)
            record.upper.update(str(c) for c in attributes.upper)
            record.lower.update(str(c) for c in attributes.lower)
            record.add_appearance(appearance_vector(image, box, silhouette.mask))
        else:
            if class_id in MOTOR_VEHICLE_CLASS_IDS:
                record.body.update(str(c) for c in describe_vehicle(image, box).body)
            record.add_appearance(appearance_vector(image, box))
        record.samples += 1
        record.last_sample_t = frame.timestamp


def scaled_view(
    image: npt.NDArray[np.uint8], box: F32, max_side: int, margin: float = 0.3
) -> tuple[npt.NDArray[np.uint8], F32]:
    """The part of ``image`` around ``box`` (with ``margin`` box sizes of context on every side, which the
    segmenter's background model needs) scaled down so the box's long side is at most ``max_side`` pixels, and
    the box in that view's pixels; ``image`` and ``box`` unchanged when the box is small enough already.

    Colours and the appearance vector's histograms do not need more pixels than that, and their cost grows
    with the box's area: a person near the camera would otherwise cost tens of times one far away.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    w, h = x1 - x0, y1 - y0
    if max(w, h) <= max_side:
        return image, box
    scale = max_side / max(w, h)
    region = crop_box((x0 - margin * w, y0 - margin * h, x1 + margin * w, y1 + margin * h), image.shape)
    size = (max(1, round(region.width * scale)), max(1, round(region.height * scale)))
    view = np.asarray(cv2.resize(region.of(image), size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    sx, sy = size[0] / max(region.width, 1), size[1] / max(region.height, 1)
    shifted = np.array([(x0 - region.x0) * sx, (y0 - region.y0) * sy, (x1 - region.x0) * sx, (y1 - region.y0) * sy])
    return view, shifted.astype(np.float32)


def _at_edge(box: F32, width: int, height: int, margin: float = 2.0) -> bool:
    x0, y0, x1, y1 = (float(v) for v in box)
    return x0 <= margin or y0 <= margin or x1 >= width - margin or y1 >= height - margin
