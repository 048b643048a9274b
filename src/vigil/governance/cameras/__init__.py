"""Force cameras in one place: the register (add, find, list, sensitivity), what is drawn on or measured of
each camera's view (calibration, zones, lines; :class:`vigil.domain.cameras.CameraGeometry`) and the
ground-plane fit from points."""
