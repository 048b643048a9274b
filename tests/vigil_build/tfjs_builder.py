"""Builds tiny TF.js graph models (model.json + weight shard) in memory for converter tests."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

_DT = {np.dtype(np.float32): "DT_FLOAT", np.dtype(np.int32): "DT_INT32", np.dtype(np.bool_): "DT_BOOL"}


def s(text: str) -> dict[str, str]:
    return {"s": base64.b64encode(text.encode()).decode()}


def ints(*values: int) -> dict[str, Any]:
    return {"list": {"i": [str(v) for v in values]}}


def strs(*values: str) -> dict[str, Any]:
    return {"list": {"s": [base64.b64encode(v.encode()).decode() for v in values]}}


def conv_attrs(strides: int = 1, padding: str = "SAME", dilation: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "strides": ints(1, strides, strides, 1),
        "dilations": ints(1, dilation, dilation, 1),
        "padding": s(padding),
        "data_format": s("NHWC"),
        **extra,
    }


@dataclass
class GraphBuilder:
    """Accumulates nodes and constants; ``quantize`` stores float weights as ``float16`` or ``uint8``."""

    quantize: str | None = None
    nodes: list[dict[str, Any]] = field(default_factory=list)
    weights: list[dict[str, Any]] = field(default_factory=list)
    blob: bytearray = field(default_factory=bytearray)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    def placeholder(self, name: str, shape: tuple[int, ...]) -> str:
        dims = [{"size": str(d)} for d in shape]
        self.nodes.append(
            {
                "name": name,
                "op": "Placeholder",
                "attr": {"dtype": {"type": "DT_FLOAT"}, "shape": {"shape": {"dim": dims}}},
            }
        )
        self.inputs[name] = {"name": f"{name}:0", "dtype": "DT_FLOAT", "tensorShape": {"dim": dims}}
        return name

    def const(self, name: str, value: npt.ArrayLike, dtype: Any = np.float32) -> str:
        array = np.asarray(value, dtype=dtype)
        entry: dict[str, Any] = {"name": name, "shape": list(array.shape), "dtype": str(array.dtype)}
        if array.dtype == np.float32 and self.quantize == "float16":
            raw = array.astype(np.float16).tobytes()
            entry["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
        elif array.dtype == np.float32 and self.quantize == "uint8":
            low, high = float(array.min()), float(array.max())
            scale = (high - low) / 255 or 1.0
            raw = np.round((array - low) / scale).astype(np.uint8).tobytes()
            entry["quantization"] = {"dtype": "uint8", "min": low, "scale": scale, "original_dtype": "float32"}
        else:
            raw = array.tobytes()
        self.weights.append(entry)
        self.blob.extend(raw)
        self.nodes.append({"name": name, "op": "Const", "attr": {"dtype": {"type": _DT[array.dtype]}}})
        return name

    def op(self, op: str, name: str, inputs: list[str], **attr: Any) -> str:
        self.nodes.append({"name": name, "op": op, "input": inputs, "attr": {"T": {"type": "DT_FLOAT"}, **attr}})
        return name

    def output(self, ref: str) -> None:
        self.outputs[ref] = {"name": ref, "dtype": "DT_FLOAT"}

    def files(self) -> tuple[bytes, dict[str, bytes]]:
        model = {
            "format": "graph-model",
            "generatedBy": "test",
            "convertedBy": "test",
            "signature": {"inputs": self.inputs, "outputs": self.outputs},
            "modelTopology": {"node": self.nodes, "library": {}, "versions": {}},
            "weightsManifest": [{"paths": ["weights.bin"], "weights": self.weights}],
        }
        return json.dumps(model).encode(), {"weights.bin": bytes(self.blob)}
