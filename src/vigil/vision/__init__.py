"""Computer vision: bundled ONNX detectors, their runtime and the TF.js -> ONNX converter.

Import the submodules you need (``vigil.vision.detect``, ``vigil.vision.runtime``,
``vigil.vision.convert``); importing this package loads nothing heavy.
"""
