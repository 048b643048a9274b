"""The table of TF op converters and the one-call conversion of a TF.js graph model."""

from __future__ import annotations

from collections.abc import Mapping

import onnx

from vigil_build.convert import ops_elementwise, ops_nn, ops_shape
from vigil_build.convert.graph import GraphSpec, Handler, convert_graph
from vigil_build.convert.tfjs import TfGraphModel, load_graph_model

CONVERTER_NAME = "vigil-tfjs2onnx"
CONVERTER_VERSION = "1.0"


def all_handlers() -> dict[str, Handler]:
    """Converters for every supported TF op, by op name."""
    table: dict[str, Handler] = {}
    for module in (ops_elementwise, ops_nn, ops_shape):
        table.update(module.handlers())
    return table


def supported_ops() -> frozenset[str]:
    return frozenset(all_handlers())


def convert_model(model: TfGraphModel, spec: GraphSpec) -> onnx.ModelProto:
    """Convert a loaded TF.js graph model to ONNX (producer fixed, so the bytes are reproducible)."""
    return convert_graph(model, spec, all_handlers(), (CONVERTER_NAME, CONVERTER_VERSION))


def convert_tfjs(model_json: bytes, shards: Mapping[str, bytes], spec: GraphSpec) -> bytes:
    """``model.json`` + weight shards -> serialized ONNX model bytes."""
    model = convert_model(load_graph_model(model_json, shards), spec)
    return bytes(model.SerializeToString(deterministic=True))
