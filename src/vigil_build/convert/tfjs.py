"""Reading a TF.js *graph model*: ``model.json`` (a TF GraphDef in JSON) plus binary weight shards.

Weights are listed in ``weightsManifest``: groups of entries whose bytes are the concatenation of the
group's shard files, in order. An entry may be quantised (``quantization.dtype`` ``uint8``/``uint16``
with ``scale`` and ``min``, or ``float16``); :func:`load_graph_model` returns them dequantised.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from vigil_build.convert.errors import ConversionError

_TF_DTYPES: dict[str, np.dtype[Any]] = {
    "DT_FLOAT": np.dtype(np.float32),
    "DT_HALF": np.dtype(np.float16),
    "DT_DOUBLE": np.dtype(np.float64),
    "DT_INT32": np.dtype(np.int32),
    "DT_INT64": np.dtype(np.int64),
    "DT_UINT8": np.dtype(np.uint8),
    "DT_INT8": np.dtype(np.int8),
    "DT_BOOL": np.dtype(np.bool_),
}

_MANIFEST_DTYPES: dict[str, np.dtype[Any]] = {
    "float32": np.dtype(np.float32),
    "int32": np.dtype(np.int32),
    "bool": np.dtype(np.bool_),
    "uint8": np.dtype(np.uint8),
    "uint16": np.dtype(np.uint16),
    "float16": np.dtype(np.float16),
}


@dataclass(frozen=True)
class TfNode:
    """One GraphDef node. ``inputs`` are tensor references ``name:index`` (control inputs dropped)."""

    name: str
    op: str
    inputs: tuple[str, ...]
    attr: Mapping[str, Any]

    def attr_str(self, key: str, default: str = "") -> str:
        value = self.attr.get(key)
        return base64.b64decode(value["s"]).decode() if value and "s" in value else default

    def attr_int(self, key: str, default: int = 0) -> int:
        value = self.attr.get(key)
        return int(value["i"]) if value and "i" in value else default

    def attr_float(self, key: str, default: float = 0.0) -> float:
        value = self.attr.get(key)
        return float(value["f"]) if value and "f" in value else default

    def attr_bool(self, key: str, default: bool = False) -> bool:
        value = self.attr.get(key)
        return bool(value["b"]) if value and "b" in value else default

    def attr_ints(self, key: str) -> list[int]:
        value = self.attr.get(key)
        return [int(v) for v in value.get("list", {}).get("i", [])] if value else []

    def attr_strs(self, key: str) -> list[str]:
        value = self.attr.get(key)
        items = value.get("list", {}).get("s", []) if value else []
        return [base64.b64decode(v).decode() for v in items]

    def attr_dtype(self, key: str) -> np.dtype[Any] | None:
        value = self.attr.get(key)
        return tf_dtype(value["type"]) if value and "type" in value else None


@dataclass(frozen=True)
class TfSignature:
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]


@dataclass(frozen=True)
class TfGraphModel:
    nodes: tuple[TfNode, ...]
    weights: Mapping[str, npt.NDArray[Any]]
    inputs: tuple[TfSignature, ...]
    outputs: tuple[TfSignature, ...]


def tf_dtype(name: str) -> np.dtype[Any]:
    try:
        return _TF_DTYPES[name]
    except KeyError:
        raise ConversionError(f"unsupported TF dtype {name}") from None


def canonical_ref(ref: str) -> str:
    """``name`` -> ``name:0``; ``name:1`` stays."""
    name, _, index = ref.partition(":")
    return f"{name}:{index or '0'}"


def _signature(entries: Mapping[str, Any]) -> tuple[TfSignature, ...]:
    result = []
    for key, entry in entries.items():
        dims = entry.get("tensorShape", {}).get("dim", [])
        shape = tuple(int(d.get("size", -1)) for d in dims)
        result.append(TfSignature(canonical_ref(entry.get("name", key)), shape, tf_dtype(entry["dtype"])))
    return tuple(result)


def _dequantise(raw: bytes, entry: Mapping[str, Any]) -> npt.NDArray[Any]:
    shape = tuple(int(s) for s in entry["shape"])
    dtype = _MANIFEST_DTYPES.get(entry["dtype"])
    if dtype is None:
        raise ConversionError(f"weight {entry['name']!r}: unsupported dtype {entry['dtype']!r}")
    quant = entry.get("quantization")
    if not quant:
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    stored = _MANIFEST_DTYPES.get(quant["dtype"])
    if stored is None:
        raise ConversionError(f"weight {entry['name']!r}: unsupported quantisation {quant['dtype']!r}")
    values = np.frombuffer(raw, dtype=stored).reshape(shape)
    if stored == np.float16:
        return values.astype(dtype)
    real = values.astype(np.float64) * float(quant["scale"]) + float(quant["min"])
    return (np.round(real) if dtype.kind in "iu" else real).astype(dtype)


def _stored_nbytes(entry: Mapping[str, Any]) -> int:
    count = int(np.prod([int(s) for s in entry["shape"]], dtype=np.int64))
    dtype_name = entry.get("quantization", {}).get("dtype", entry["dtype"])
    if dtype_name not in _MANIFEST_DTYPES:
        raise ConversionError(f"weight {entry['name']!r}: unsupported dtype {dtype_name!r}")
    return count * _MANIFEST_DTYPES[dtype_name].itemsize


def read_weights(manifest: list[Mapping[str, Any]], shards: Mapping[str, bytes]) -> dict[str, npt.NDArray[Any]]:
    """Dequantised weights by name from a ``weightsManifest`` and the shard files' bytes by file name."""
    weights: dict[str, npt.NDArray[Any]] = {}
    for group in manifest:
        try:
            blob = b"".join(shards[path] for path in group["paths"])
        except KeyError as missing:
            raise ConversionError(f"weight shard {missing.args[0]!r} was not provided") from None
        offset = 0
        for entry in group["weights"]:
            size = _stored_nbytes(entry)
            if offset + size > len(blob):
                raise ConversionError(f"weight {entry['name']!r} runs past the end of {group['paths']}")
            weights[entry["name"]] = _dequantise(blob[offset : offset + size], entry)
            offset += size
        if offset != len(blob):
            raise ConversionError(f"shards {group['paths']} hold {len(blob) - offset} unread bytes")
    return weights


def _inline_tensor(node_name: str, tensor: Mapping[str, Any]) -> npt.NDArray[Any]:
    dtype = tf_dtype(tensor["dtype"])
    dims = tensor.get("tensorShape", {}).get("dim", [])
    shape = tuple(int(d.get("size", 0)) for d in dims)
    if "tensorContent" in tensor:
        flat = np.frombuffer(base64.b64decode(tensor["tensorContent"]), dtype=dtype)
    else:
        key = {"f": "floatVal", "i": "intVal", "b": "boolVal"}[dtype.kind if dtype.kind in "fb" else "i"]
        values = tensor.get(key) or tensor.get("int64Val") or []
        flat = np.array(values, dtype=dtype)
    count = int(np.prod(shape, dtype=np.int64))
    if flat.size == count:
        return flat.reshape(shape).copy()
    if flat.size == 1:
        return np.full(shape, flat[0], dtype=dtype)
    if count == 0:
        return np.zeros(shape, dtype=dtype)
    raise ConversionError(f"constant {node_name!r}: {flat.size} values for shape {shape}")


def load_graph_model(model_json: bytes, shards: Mapping[str, bytes]) -> TfGraphModel:
    """Parse ``model.json`` bytes and its weight shards into a :class:`TfGraphModel`."""
    try:
        spec = json.loads(model_json)
    except json.JSONDecodeError as exc:
        raise ConversionError(f"model.json is not valid JSON: {exc}") from exc
    if spec.get("format") != "graph-model":
        raise ConversionError(f"not a TF.js graph model (format={spec.get('format')!r})")
    weights = read_weights(spec.get("weightsManifest", []), shards)
    nodes = []
    for raw in spec["modelTopology"]["node"]:
        attr = raw.get("attr", {})
        if raw["op"] == "Const" and raw["name"] not in weights and "value" in attr:
            weights[raw["name"]] = _inline_tensor(raw["name"], attr["value"]["tensor"])
        inputs = tuple(canonical_ref(i) for i in raw.get("input", []) if not i.startswith("^"))
        nodes.append(TfNode(raw["name"], raw["op"], inputs, attr))
    signature = spec.get("signature", {})
    return TfGraphModel(
        nodes=tuple(nodes),
        weights=weights,
        inputs=_signature(signature.get("inputs", {})),
        outputs=_signature(signature.get("outputs", {})),
    )
