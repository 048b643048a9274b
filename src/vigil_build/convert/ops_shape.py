"""TF ops that move data around: transpose, reshape, slicing, concatenation, gather, top-k, split, pad."""

from __future__ import annotations

from typing import Any

import numpy as np

from vigil_build.convert.errors import UnsupportedOpError
from vigil_build.convert.fold import strided_slice_index
from vigil_build.convert.graph import TO_CF, TO_TF, Converter, Handler, Layout, Value, compose, onnx_type
from vigil_build.convert.tfjs import TfNode

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


def _ints(array: Any) -> list[int]:
    return [int(v) for v in np.atleast_1d(array)]


def convert_transpose(cx: Converter, node: TfNode) -> None:
    """A TF transpose; one that only swaps NHWC and NCHW views of a value costs nothing."""
    x = cx.input_value(node, 0)
    perm = tuple(_ints(cx.const_of(node, 1)))
    shape = tuple(x.shape[p] for p in perm)
    out = Value(shape, x.dtype)
    if x.rank == 4:
        for layout, to_tf in ((Layout.CF, TO_TF), (Layout.TF, (0, 1, 2, 3))):
            if layout not in x.names:
                continue
            actual = compose(to_tf, perm)  # out_tf == source.transpose(actual)
            if actual == (0, 1, 2, 3):
                out.names[Layout.TF] = x.names[layout]
            elif compose(actual, TO_CF) == (0, 1, 2, 3):
                out.names[Layout.CF] = x.names[layout]
        if out.names:
            cx.define(node, 0, out)
            return
    source = cx.input_name(node, 0, Layout.TF)
    out.names[Layout.TF] = cx.emit("Transpose", [source], node.name, perm=list(perm))[0]
    cx.define(node, 0, out)


def _reshape_to(cx: Converter, node: TfNode, shape: tuple[int, ...]) -> None:
    x = cx.input_value(node, 0)
    target = cx.int64s(shape, f"{node.name}/shape")
    out = cx.emit("Reshape", [cx.input_name(node, 0, Layout.TF), target], node.name)[0]
    cx.define_onnx(node, out, shape, x.dtype, Layout.TF)


def convert_reshape(cx: Converter, node: TfNode) -> None:
    x = cx.input_value(node, 0)
    requested = _ints(cx.const_of(node, 1))
    if 0 in requested:
        raise UnsupportedOpError(node.op, node.name, "zero-sized reshape")
    known = int(np.prod([s for s in requested if s != -1]))
    shape = tuple(int(np.prod(x.shape)) // known if s == -1 else s for s in requested)
    _reshape_to(cx, node, shape)


def convert_expand_dims(cx: Converter, node: TfNode) -> None:
    x = cx.input_value(node, 0)
    axis = _ints(cx.const_of(node, 1))[0] % (x.rank + 1)
    _reshape_to(cx, node, (*x.shape[:axis], 1, *x.shape[axis:]))


def convert_squeeze(cx: Converter, node: TfNode) -> None:
    x = cx.input_value(node, 0)
    dims = {d % x.rank for d in node.attr_ints("squeeze_dims")} or {i for i, s in enumerate(x.shape) if s == 1}
    _reshape_to(cx, node, tuple(s for i, s in enumerate(x.shape) if i not in dims))


def _emit_slice(cx: Converter, node: TfNode, x: Value, index: tuple[Any, ...]) -> None:
    """Emit Slice (+ Reshape for integer indices) for a NumPy basic index of ints and slices."""
    starts, ends, axes, steps = [], [], [], []
    for axis, item in enumerate(index):
        if isinstance(item, int):
            starts.append(item)
            ends.append(item + 1 if item != -1 else INT64_MAX)
            axes.append(axis)
            steps.append(1)
        elif item != slice(None, None, None) and item != slice(None, None, 1):
            step = 1 if item.step is None else item.step
            default_start, default_end = (0, INT64_MAX) if step > 0 else (-1, INT64_MIN)
            starts.append(default_start if item.start is None else item.start)
            ends.append(default_end if item.stop is None else item.stop)
            axes.append(axis)
            steps.append(step)
    out_shape = np.zeros(x.shape, dtype=np.bool_)[index].shape
    name = cx.input_name(node, 0, Layout.TF)
    if axes:
        args = [
            cx.int64s(v, f"{node.name}/{k}")
            for k, v in (("starts", starts), ("ends", ends), ("axes", axes), ("steps", steps))
        ]
        name = cx.emit("Slice", [name, *args], f"{node.name}/slice")[0]
    out = cx.emit("Reshape", [name, cx.int64s(out_shape, f"{node.name}/shape")], node.name)[0]
    cx.define_onnx(node, out, out_shape, x.dtype, Layout.TF)


def convert_strided_slice(cx: Converter, node: TfNode) -> None:
    x = cx.input_value(node, 0)
    if node.attr_int("new_axis_mask"):
        raise UnsupportedOpError(node.op, node.name, "new_axis_mask on a non-constant tensor")
    begin, end, strides = (cx.const_of(node, i) for i in (1, 2, 3))
    _emit_slice(cx, node, x, strided_slice_index(node, begin, end, strides))


def convert_slice(cx: Converter, node: TfNode) -> None:
    x = cx.input_value(node, 0)
    begin, size = _ints(cx.const_of(node, 1)), _ints(cx.const_of(node, 2))
    index = tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size, strict=True))
    _emit_slice(cx, node, x, index)


def convert_concat(cx: Converter, node: TfNode) -> None:
    values = [cx.input_value(node, i) for i in range(len(node.inputs) - 1)]
    rank = values[0].rank
    axis = _ints(cx.const_of(node, len(node.inputs) - 1))[0] % rank
    layout = cx.preferred_layout(values) if rank == 4 else Layout.TF
    onnx_axis = TO_CF.index(axis) if layout is Layout.CF else axis
    names = [cx.name_of(v, layout, node.inputs[i].split(":")[0]) for i, v in enumerate(values)]
    out = cx.emit("Concat", names, node.name, axis=onnx_axis)[0]
    shape = list(values[0].shape)
    shape[axis] = sum(v.shape[axis] for v in values)
    cx.define_onnx(node, out, shape, values[0].dtype, layout)


def convert_pack(cx: Converter, node: TfNode) -> None:
    values = [cx.input_value(node, i) for i in range(len(node.inputs))]
    axis = node.attr_int("axis") % (values[0].rank + 1)
    axes = cx.int64s([axis], f"{node.name}/axes")
    parts = [
        cx.emit("Unsqueeze", [cx.input_name(node, i, Layout.TF), axes], f"{node.name}/u{i}")[0]
        for i in range(len(values))
    ]
    out = cx.emit("Concat", parts, node.name, axis=axis)[0]
    shape = (*values[0].shape[:axis], len(values), *values[0].shape[axis:])
    cx.define_onnx(node, out, shape, values[0].dtype, Layout.TF)


def convert_gather(cx: Converter, node: TfNode) -> None:
    params, indices = cx.input_value(node, 0), cx.input_value(node, 1)
    if node.attr_int("batch_dims"):
        raise UnsupportedOpError(node.op, node.name, "batch_dims != 0")
    axis = (_ints(cx.const_of(node, 2))[0] if len(node.inputs) > 2 else 0) % params.rank
    names = [cx.input_name(node, 0, Layout.TF), cx.input_name(node, 1, Layout.TF)]
    out = cx.emit("Gather", names, node.name, axis=axis)[0]
    shape = (*params.shape[:axis], *indices.shape, *params.shape[axis + 1 :])
    cx.define_onnx(node, out, shape, params.dtype, Layout.TF)


def convert_top_k(cx: Converter, node: TfNode) -> None:
    x = cx.input_value(node, 0)
    k = _ints(cx.const_of(node, 1))[0]
    values, indices = cx.emit(
        "TopK",
        [cx.input_name(node, 0, Layout.TF), cx.int64s([k], f"{node.name}/k")],
        node.name,
        outputs=2,
        axis=-1,
        largest=1,
        sorted=1,
    )
    shape = (*x.shape[:-1], k)
    index_type = node.attr_dtype("index_type") or np.dtype(np.int32)
    indices = cx.emit("Cast", [indices], f"{node.name}:1/cast", to=onnx_type(index_type))[0]
    cx.define_onnx(node, values, shape, x.dtype, Layout.TF)
    cx.define_onnx(node, indices, shape, index_type, Layout.TF, index=1)


def _split(cx: Converter, node: TfNode, data_index: int, sizes: list[int], axis: int) -> None:
    x = cx.input_value(node, data_index)
    axis %= x.rank
    if -1 in sizes:
        sizes[sizes.index(-1)] = x.shape[axis] - (sum(sizes) + 1)
    layout = Layout.CF if x.rank == 4 and Layout.CF in x.names else Layout.TF
    onnx_axis = TO_CF.index(axis) if layout is Layout.CF else axis
    names = cx.emit(
        "Split",
        [cx.input_name(node, data_index, layout), cx.int64s(sizes, f"{node.name}/sizes")],
        node.name,
        outputs=len(sizes),
        axis=onnx_axis,
    )
    for i, (name, size) in enumerate(zip(names, sizes, strict=True)):
        shape = list(x.shape)
        shape[axis] = size
        cx.define_onnx(node, name, shape, x.dtype, layout, index=i)


def convert_split_v(cx: Converter, node: TfNode) -> None:
    _split(cx, node, 0, _ints(cx.const_of(node, 1)), _ints(cx.const_of(node, 2))[0])


def convert_split(cx: Converter, node: TfNode) -> None:
    axis = _ints(cx.const_of(node, 0))[0]
    x = cx.input_value(node, 1)
    count = node.attr_int("num_split")
    _split(cx, node, 1, [x.shape[axis % x.rank] // count] * count, axis)


def convert_pad(cx: Converter, node: TfNode) -> None:
    x = cx.input_value(node, 0)
    paddings = cx.const_of(node, 1).astype(np.int64).reshape(x.rank, 2)
    layout = Layout.CF if x.rank == 4 and Layout.CF in x.names else Layout.TF
    if layout is Layout.CF:
        paddings = paddings[list(TO_CF)]
    mode = "constant"
    if node.op == "MirrorPad":
        if node.attr_str("mode") != "REFLECT":
            raise UnsupportedOpError(node.op, node.name, f"mode {node.attr_str('mode')}")
        mode = "reflect"
    fill = cx.const_of(node, 2) if node.op == "PadV2" else np.zeros((), dtype=x.dtype)
    inputs = [cx.input_name(node, 0, layout), cx.int64s([*paddings[:, 0], *paddings[:, 1]], f"{node.name}/pads")]
    if mode == "constant":
        inputs.append(cx.initializer(np.asarray(fill, dtype=x.dtype).reshape(()), f"{node.name}/value"))
    out = cx.emit("Pad", inputs, node.name, mode=mode)[0]
    tf_pads = cx.const_of(node, 1).reshape(x.rank, 2)
    shape = tuple(int(s + p[0] + p[1]) for s, p in zip(x.shape, tf_pads, strict=True))
    cx.define_onnx(node, out, shape, x.dtype, layout)


def convert_shape(cx: Converter, node: TfNode) -> None:
    """Shapes are static here, so ``Shape``/``Size``/``Rank`` become constants."""
    x = cx.input_value(node, 0)
    dtype = node.attr_dtype("out_type") or np.dtype(np.int32)
    value = {
        "Shape": np.array(x.shape, dtype=dtype),
        "Size": np.array(int(np.prod(x.shape)), dtype=dtype),
        "Rank": np.array(x.rank, dtype=np.int32),
    }[node.op]
    cx.define(node, 0, Value(value.shape, value.dtype, const=value))


def convert_arg_max(cx: Converter, node: TfNode) -> None:
    x = cx.input_value(node, 0)
    axis = _ints(cx.const_of(node, 1))[0] % x.rank
    dtype = node.attr_dtype("output_type") or np.dtype(np.int64)
    op = "ArgMax" if node.op == "ArgMax" else "ArgMin"
    out = cx.emit(op, [cx.input_name(node, 0, Layout.TF)], f"{node.name}/arg", axis=axis, keepdims=0)[0]
    if dtype != np.int64:
        out = cx.emit("Cast", [out], node.name, to=onnx_type(dtype))[0]
    cx.define_onnx(node, out, tuple(s for i, s in enumerate(x.shape) if i != axis), dtype, Layout.TF)


def handlers() -> dict[str, Handler]:
    return {
        "Transpose": convert_transpose, "Reshape": convert_reshape, "ExpandDims": convert_expand_dims,
        "Squeeze": convert_squeeze, "StridedSlice": convert_strided_slice, "Slice": convert_slice,
        "ConcatV2": convert_concat, "Pack": convert_pack, "GatherV2": convert_gather,
        "TopKV2": convert_top_k, "SplitV": convert_split_v, "Split": convert_split,
        "Pad": convert_pad, "PadV2": convert_pad, "MirrorPad": convert_pad,
        "Shape": convert_shape, "Size": convert_shape, "Rank": convert_shape,
        "ArgMax": convert_arg_max, "ArgMin": convert_arg_max,
    }  # fmt: skip
