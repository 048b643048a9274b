"""Element-wise TF ops: arithmetic, comparisons, activations, casts. They keep their input's layout."""

from __future__ import annotations

import numpy as np

from vigil_build.convert.errors import UnsupportedOpError
from vigil_build.convert.graph import Converter, Handler, Layout, Value, onnx_type
from vigil_build.convert.tfjs import TfNode

_BINARY = {
    "Add": "Add", "AddV2": "Add", "BiasAdd": "Add", "Sub": "Sub", "Mul": "Mul", "RealDiv": "Div",
    "Div": "Div", "Maximum": "Max", "Minimum": "Min", "Pow": "Pow",
}  # fmt: skip
_COMPARE = {
    "Equal": "Equal", "Greater": "Greater", "GreaterEqual": "GreaterOrEqual", "Less": "Less",
    "LessEqual": "LessOrEqual", "LogicalAnd": "And", "LogicalOr": "Or",
}  # fmt: skip
_UNARY = {
    "Relu": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Elu": "Elu", "Selu": "Selu", "Exp": "Exp",
    "Log": "Log", "Sqrt": "Sqrt", "Neg": "Neg", "Abs": "Abs", "Floor": "Floor", "Ceil": "Ceil",
    "Round": "Round", "Softplus": "Softplus", "Erf": "Erf", "Reciprocal": "Reciprocal", "Sign": "Sign",
    "LogicalNot": "Not",
}  # fmt: skip
ACTIVATIONS = frozenset({"Relu", "Relu6", "Elu", "Selu", "LeakyRelu", "Prelu", "Sigmoid", "Tanh"})


def _binary_setup(cx: Converter, node: TfNode) -> tuple[Layout, tuple[int, ...], list[str]]:
    a, b = cx.input_value(node, 0), cx.input_value(node, 1)
    if node.op == "BiasAdd" and node.attr_str("data_format", "NHWC") != "NHWC":
        raise UnsupportedOpError(node.op, node.name, "data_format NCHW")
    shape = tuple(int(s) for s in np.broadcast_shapes(a.shape, b.shape))
    layout = cx.preferred_layout([a, b]) if len(shape) == 4 else Layout.TF
    return layout, shape, [cx.operand(node, 0, layout), cx.operand(node, 1, layout)]


def convert_binary(cx: Converter, node: TfNode) -> None:
    layout, shape, names = _binary_setup(cx, node)
    compare = node.op in _COMPARE
    out = cx.emit(_COMPARE[node.op] if compare else _BINARY[node.op], names, node.name)[0]
    dtype = np.bool_ if compare else cx.input_value(node, 0).dtype
    cx.define_onnx(node, out, shape, dtype, layout)


def convert_floor_div_mod(cx: Converter, node: TfNode) -> None:
    """TF ``FloorDiv``/``FloorMod`` round toward minus infinity for integers and floats alike."""
    layout, shape, (a, b) = _binary_setup(cx, node)
    dtype = cx.input_value(node, 0).dtype
    h = node.name
    if dtype.kind in "iu":
        mod = cx.emit("Mod", [a, b], f"{h}/mod", fmod=0)[0]  # sign follows the divisor, as in TF
        out = mod if node.op == "FloorMod" else cx.emit("Div", [cx.emit("Sub", [a, mod], f"{h}/sub")[0], b], h)[0]
    else:
        floor = cx.emit("Floor", [cx.emit("Div", [a, b], f"{h}/div")[0]], f"{h}/floor")[0]
        out = floor
        if node.op == "FloorMod":
            out = cx.emit("Sub", [a, cx.emit("Mul", [floor, b], f"{h}/mul")[0]], h)[0]
    cx.define_onnx(node, out, shape, dtype, layout)


def convert_squared_difference(cx: Converter, node: TfNode) -> None:
    layout, shape, names = _binary_setup(cx, node)
    diff = cx.emit("Sub", names, f"{node.name}/sub")[0]
    out = cx.emit("Mul", [diff, diff], node.name)[0]
    cx.define_onnx(node, out, shape, cx.input_value(node, 0).dtype, layout)


def scalar(cx: Converter, value: float, dtype: np.dtype[np.generic], hint: str) -> str:
    return cx.initializer(np.array(value, dtype=dtype), hint)


def activation(
    cx: Converter,
    kind: str,
    x: str,
    value: Value,
    layout: Layout,
    hint: str,
    alpha: float = 0.2,
    prelu_slope: np.ndarray | None = None,
) -> str:
    """Apply TF activation ``kind`` to the ONNX value ``x`` (which has ``value``'s shape and dtype)."""
    if kind in ("Relu", "Sigmoid", "Tanh", "Elu", "Selu"):
        return cx.emit(kind, [x], hint)[0]
    if kind == "Relu6":
        return cx.emit(
            "Clip", [x, scalar(cx, 0, value.dtype, f"{hint}/min"), scalar(cx, 6, value.dtype, f"{hint}/max")], hint
        )[0]
    if kind == "LeakyRelu":
        return cx.emit("LeakyRelu", [x], hint, alpha=float(alpha))[0]
    if kind == "Prelu" and prelu_slope is not None:
        slope = prelu_slope.astype(value.dtype)
        if layout is Layout.CF and slope.ndim >= 1:
            slope = slope.reshape((1,) * (4 - slope.ndim) + slope.shape).transpose(0, 3, 1, 2)
        return cx.emit("PRelu", [x, cx.initializer(slope, f"{hint}/slope")], hint)[0]
    raise UnsupportedOpError(kind, hint, "activation")


def convert_unary(cx: Converter, node: TfNode) -> None:
    value = cx.input_value(node, 0)
    layout = cx.unary_layout(value)
    x = cx.input_name(node, 0, layout)
    h = node.name
    if node.op in _UNARY:
        out = cx.emit(_UNARY[node.op], [x], h)[0]
    elif node.op == "Rsqrt":
        out = cx.emit("Reciprocal", [cx.emit("Sqrt", [x], f"{h}/sqrt")[0]], h)[0]
    elif node.op == "Square":
        out = cx.emit("Mul", [x, x], h)[0]
    else:
        out = activation(cx, node.op, x, value, layout, h, alpha=node.attr_float("alpha", 0.2))
    dtype = np.bool_ if node.op == "LogicalNot" else value.dtype
    cx.define_onnx(node, out, value.shape, dtype, layout)


def convert_prelu(cx: Converter, node: TfNode) -> None:
    value = cx.input_value(node, 0)
    layout = cx.preferred_layout([value]) if value.rank == 4 else Layout.TF
    out = cx.emit("PRelu", [cx.operand(node, 0, layout), cx.operand(node, 1, layout)], node.name)[0]
    cx.define_onnx(node, out, value.shape, value.dtype, layout)


def convert_identity(cx: Converter, node: TfNode) -> None:
    for i in range(len(node.inputs) if node.op == "IdentityN" else 1):
        cx.define(node, i, cx.input_value(node, i))


def convert_cast(cx: Converter, node: TfNode) -> None:
    value = cx.input_value(node, 0)
    dtype = node.attr_dtype("DstT")
    if dtype is None:
        raise UnsupportedOpError(node.op, node.name, "missing DstT")
    layout = cx.unary_layout(value)
    out = cx.emit("Cast", [cx.input_name(node, 0, layout)], node.name, to=onnx_type(dtype))[0]
    cx.define_onnx(node, out, value.shape, dtype, layout)


def convert_add_n(cx: Converter, node: TfNode) -> None:
    values = [cx.input_value(node, i) for i in range(len(node.inputs))]
    shape = tuple(int(s) for s in np.broadcast_shapes(*(v.shape for v in values)))
    layout = cx.preferred_layout(values) if len(shape) == 4 else Layout.TF
    out = cx.emit("Sum", [cx.operand(node, i, layout) for i in range(len(values))], node.name)[0]
    cx.define_onnx(node, out, shape, values[0].dtype, layout)


def convert_select(cx: Converter, node: TfNode) -> None:
    values = [cx.input_value(node, i) for i in range(3)]
    shape = tuple(int(s) for s in np.broadcast_shapes(*(v.shape for v in values)))
    names = [cx.input_name(node, i, Layout.TF) for i in range(3)]
    cx.define_onnx(node, cx.emit("Where", names, node.name)[0], shape, values[1].dtype, Layout.TF)


def convert_softmax(cx: Converter, node: TfNode) -> None:
    value = cx.input_value(node, 0)
    out = cx.emit("Softmax", [cx.input_name(node, 0, Layout.TF)], node.name, axis=-1)[0]
    cx.define_onnx(node, out, value.shape, value.dtype, Layout.TF)


def handlers() -> dict[str, Handler]:
    table: dict[str, Handler] = {op: convert_binary for op in (*_BINARY, *_COMPARE)}
    table.update({op: convert_unary for op in (*_UNARY, "Rsqrt", "Square", "Relu6", "LeakyRelu")})
    table.update({
        "FloorDiv": convert_floor_div_mod, "FloorMod": convert_floor_div_mod,
        "SquaredDifference": convert_squared_difference, "Prelu": convert_prelu,
        "Identity": convert_identity, "IdentityN": convert_identity, "StopGradient": convert_identity,
        "Snapshot": convert_identity, "Cast": convert_cast, "AddN": convert_add_n,
        "Select": convert_select, "SelectV2": convert_select, "Softmax": convert_softmax,
    })  # fmt: skip
    return table
