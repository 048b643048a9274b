"""NumPy implementations of the TF ops that move data or compute shapes.

They fold nodes whose inputs are all constants (shape arithmetic left in exported graphs) and give
the static output shapes of data-movement ops (run on a zero array of the input's shape).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from vigil_build.convert.errors import UnsupportedOpError
from vigil_build.convert.tfjs import TfNode

Array = npt.NDArray[Any]
Folder = Callable[[TfNode, list[Array]], list[Array]]


def _bits(mask: int, count: int) -> list[bool]:
    return [bool(mask >> i & 1) for i in range(count)]


def strided_slice_index(node: TfNode, begin: Array, end: Array, strides: Array) -> tuple[Any, ...]:
    """The NumPy index a TF ``StridedSlice`` node describes (ellipsis masks are not supported)."""
    if node.attr_int("ellipsis_mask"):
        raise UnsupportedOpError(node.op, node.name, "ellipsis_mask")
    count = len(begin)
    begin_mask = _bits(node.attr_int("begin_mask"), count)
    end_mask = _bits(node.attr_int("end_mask"), count)
    shrink = _bits(node.attr_int("shrink_axis_mask"), count)
    new_axis = _bits(node.attr_int("new_axis_mask"), count)
    index: list[Any] = []
    for i in range(count):
        if new_axis[i]:
            index.append(None)
        elif shrink[i]:
            index.append(int(begin[i]))
        else:
            start = None if begin_mask[i] else int(begin[i])
            stop = None if end_mask[i] else int(end[i])
            index.append(slice(start, stop, int(strides[i])))
    return tuple(index)


def _strided_slice(node: TfNode, x: list[Array]) -> list[Array]:
    return [np.asarray(x[0][strided_slice_index(node, x[1], x[2], x[3])])]


def _concat(node: TfNode, x: list[Array]) -> list[Array]:
    return [np.concatenate(x[:-1], axis=int(x[-1]))]


def _pack(node: TfNode, x: list[Array]) -> list[Array]:
    return [np.stack(x, axis=node.attr_int("axis"))]


def _gather(node: TfNode, x: list[Array]) -> list[Array]:
    if node.attr_int("batch_dims"):
        raise UnsupportedOpError(node.op, node.name, "batch_dims != 0")
    axis = int(x[2]) if len(x) > 2 else 0
    return [np.take(x[0], x[1], axis=axis)]


def _sparse_to_dense(node: TfNode, x: list[Array]) -> list[Array]:
    indices, shape, values, default = x
    dense = np.full(tuple(int(s) for s in np.atleast_1d(shape)), default, dtype=values.dtype)
    idx = indices if indices.ndim == 2 else indices.reshape(-1, 1)
    for row, value in zip(idx, np.broadcast_to(values, (len(idx),)), strict=True):
        dense[tuple(int(i) for i in row)] = value
    return [dense]


def _cast(node: TfNode, x: list[Array]) -> list[Array]:
    dtype = node.attr_dtype("DstT")
    if dtype is None:
        raise UnsupportedOpError(node.op, node.name, "missing DstT")
    return [x[0].astype(dtype)]


def _floor_div(node: TfNode, x: list[Array]) -> list[Array]:
    a, b = x
    return [np.floor_divide(a, b) if a.dtype.kind in "iu" else np.floor(a / b).astype(a.dtype)]


def _squeeze(node: TfNode, x: list[Array]) -> list[Array]:
    dims = node.attr_ints("squeeze_dims")
    return [np.squeeze(x[0], axis=tuple(dims)) if dims else np.squeeze(x[0])]


def _split_v(node: TfNode, x: list[Array]) -> list[Array]:
    value, sizes, axis = x[0], [int(s) for s in x[1]], int(x[2])
    if -1 in sizes:
        sizes[sizes.index(-1)] = value.shape[axis] - (sum(sizes) + 1)
    return list(np.split(value, np.cumsum(sizes)[:-1], axis=axis))


def _split(node: TfNode, x: list[Array]) -> list[Array]:
    return list(np.split(x[1], node.attr_int("num_split"), axis=int(x[0])))


def _slice(node: TfNode, x: list[Array]) -> list[Array]:
    begin, size = x[1], x[2]
    index = tuple(slice(int(b), None if int(s) == -1 else int(b) + int(s)) for b, s in zip(begin, size, strict=True))
    return [x[0][index]]


def _same_dtype(fn: Callable[..., Any]) -> Folder:
    def fold(node: TfNode, x: list[Array]) -> list[Array]:
        return [np.asarray(fn(*x)).astype(x[0].dtype)]

    return fold


def _to_bool(fn: Callable[..., Any]) -> Folder:
    def fold(node: TfNode, x: list[Array]) -> list[Array]:
        return [np.asarray(fn(*x), dtype=np.bool_)]

    return fold


def _folders() -> dict[str, Folder]:
    return {
        "Identity": lambda n, x: [x[0]],
        "Cast": _cast,
        "Add": _same_dtype(np.add),
        "AddV2": _same_dtype(np.add),
        "Sub": _same_dtype(np.subtract),
        "Mul": _same_dtype(np.multiply),
        "RealDiv": _same_dtype(np.true_divide),
        "FloorDiv": _floor_div,
        "FloorMod": _same_dtype(np.mod),
        "Maximum": _same_dtype(np.maximum),
        "Minimum": _same_dtype(np.minimum),
        "Neg": _same_dtype(np.negative),
        "Equal": _to_bool(np.equal),
        "Reshape": lambda n, x: [x[0].reshape(tuple(int(s) for s in np.atleast_1d(x[1])))],
        "ExpandDims": lambda n, x: [np.expand_dims(x[0], int(x[1]))],
        "Squeeze": _squeeze,
        "Transpose": lambda n, x: [np.transpose(x[0], tuple(int(p) for p in x[1]))],
        "ConcatV2": _concat,
        "Pack": _pack,
        "StridedSlice": _strided_slice,
        "Slice": _slice,
        "GatherV2": _gather,
        "SparseToDense": _sparse_to_dense,
        "Shape": lambda n, x: [np.array(x[0].shape, dtype=n.attr_dtype("out_type") or np.int32)],
        "Fill": lambda n, x: [np.full(tuple(int(s) for s in x[0]), x[1], dtype=x[1].dtype)],
        "Range": lambda n, x: [np.arange(x[0].item(), x[1].item(), x[2].item()).astype(x[0].dtype)],
        "Prod": lambda n, x: [
            np.prod(x[0], axis=tuple(np.atleast_1d(x[1]).tolist()), keepdims=n.attr_bool("keep_dims")).astype(
                x[0].dtype
            )
        ],
        "SplitV": _split_v,
        "Split": _split,
    }


FOLDERS: dict[str, Folder] = _folders()
"""Constant-folding implementations by TF op name (a fixed table; nothing is registered at run time)."""


def fold(node: TfNode, inputs: list[Array]) -> list[Array] | None:
    """The outputs of ``node`` given constant ``inputs``, or ``None`` when the op is not foldable."""
    folder = FOLDERS.get(node.op)
    return None if folder is None else folder(node, inputs)
