"""Pure value types shared across vigil. Nothing in here imports from the rest of vigil."""

from vigil.domain.detections import COCO_CLASSES, PERSON_CLASS_ID, Detections, Frame

__all__ = ["COCO_CLASSES", "PERSON_CLASS_ID", "Detections", "Frame"]
