"""Exceptions raised by the TF.js -> ONNX converter."""

from __future__ import annotations


class ConversionError(Exception):
    """A TF.js graph model could not be read or converted."""


class UnsupportedOpError(ConversionError):
    """The graph uses an op (or an attribute value) the converter does not implement."""

    def __init__(self, op: str, node: str, detail: str = "") -> None:
        self.op = op
        self.node = node
        message = f"unsupported TF op {op!r} at node {node!r}"
        super().__init__(f"{message}: {detail}" if detail else message)


class SourcePackageError(ConversionError):
    """The npm tarball is missing, unreadable or lacks a file the build needs."""
