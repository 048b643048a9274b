"""Build-time tools that make the model files vigil ships: the TF.js -> ONNX detector converter (``convert``)
and the face-model rebuild (``faces``). Never imported while vigil runs (an import contract checks it); needs
the ``build`` extra (``onnx``). ``vigil models build|verify`` and ``python -m vigil_build.faces.build`` use it.
"""
