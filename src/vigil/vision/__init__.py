"""Computer vision: bundled ONNX detectors and their runtime (the converters that build the model files are in
the separate build-time package ``vigil_build``).

Import the submodules you need (``vigil.vision.detect``, ``vigil.vision.runtime``); importing this package loads
nothing heavy.
"""
