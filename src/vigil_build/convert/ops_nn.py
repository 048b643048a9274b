"""Spatial and dense TF ops: convolutions (plain and fused), pooling, reductions, resizing, MatMul.

TF pads ``SAME`` convolutions/pools with ``total = max((ceil(in/s) - 1) * s + (k - 1) * d + 1 - in, 0)``
split as ``total // 2`` before and the rest after; the converter writes these as explicit ONNX pads
for the graph's fixed input size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from vigil_build.convert.errors import UnsupportedOpError
from vigil_build.convert.graph import TO_CF, Converter, Handler, Layout, Value, cf_shape
from vigil_build.convert.ops_elementwise import ACTIVATIONS, activation
from vigil_build.convert.tfjs import TfNode

Array = npt.NDArray[Any]


@dataclass(frozen=True)
class Window:
    """Spatial geometry of a conv/pool: kernel, strides, dilations and the resulting pads/size."""

    kernel: tuple[int, int]
    strides: tuple[int, int]
    dilations: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, left, bottom, right (ONNX order)
    out_hw: tuple[int, int]


def _axis_pads(size: int, k: int, s: int, d: int, mode: str, explicit: tuple[int, int]) -> tuple[int, int, int]:
    span = (k - 1) * d + 1
    if mode == "VALID":
        return 0, 0, (size - span) // s + 1
    if mode == "SAME":
        out = math.ceil(size / s)
        total = max((out - 1) * s + span - size, 0)
        return total // 2, total - total // 2, out
    before, after = explicit
    return before, after, (size + before + after - span) // s + 1


def window(node: TfNode, in_hw: tuple[int, int], kernel: tuple[int, int]) -> Window:
    mode = node.attr_str("padding", "VALID")
    if mode not in ("SAME", "VALID", "EXPLICIT"):
        raise UnsupportedOpError(node.op, node.name, f"padding {mode!r}")
    if node.attr_str("data_format", "NHWC") != "NHWC":
        raise UnsupportedOpError(node.op, node.name, "data_format other than NHWC")
    strides = node.attr_ints("strides") or [1, 1, 1, 1]
    dilations = node.attr_ints("dilations") or [1, 1, 1, 1]
    explicit = node.attr_ints("explicit_paddings") or [0] * 8
    h = _axis_pads(in_hw[0], kernel[0], strides[1], dilations[1], mode, (explicit[2], explicit[3]))
    w = _axis_pads(in_hw[1], kernel[1], strides[2], dilations[2], mode, (explicit[4], explicit[5]))
    return Window(
        kernel, (strides[1], strides[2]), (dilations[1], dilations[2]), (h[0], w[0], h[1], w[1]), (h[2], w[2])
    )


@dataclass(frozen=True)
class FusedArgs:
    """What a ``_Fused*`` op applies after its convolution/product."""

    bias: Array | None = None
    scale: Array | None = None  # per-output-channel multiplier of a folded FusedBatchNorm
    activation: str | None = None
    prelu_slope: Array | None = None
    leaky_alpha: float = 0.2


def _fused_args(cx: Converter, node: TfNode, first_arg: int) -> FusedArgs:
    ops = node.attr_strs("fused_ops")
    args = [cx.const_of(node, i) for i in range(first_arg, len(node.inputs))]
    act = ops[-1] if ops and ops[-1] in ACTIVATIONS else None
    leading = ops[:-1] if act else ops
    bias = scale = None
    if leading == ["BiasAdd"]:
        bias = args[0].astype(np.float32)
    elif leading == ["FusedBatchNorm"]:
        gamma, offset, mean, var = (a.astype(np.float64) for a in args[:4])
        factor = gamma / np.sqrt(var + node.attr_float("epsilon", 1e-3))
        bias, scale = (offset - mean * factor).astype(np.float32), factor.astype(np.float32)
    elif leading:
        raise UnsupportedOpError(node.op, node.name, f"fused_ops {ops}")
    slope = args[-1] if act == "Prelu" else None
    return FusedArgs(bias, scale, act, slope, node.attr_float("leakyrelu_alpha", 0.2))


def _conv(cx: Converter, node: TfNode, kernel_oihw: Array, group: int, first_arg: int) -> None:
    x = cx.input_value(node, 0)
    if x.rank != 4:
        raise UnsupportedOpError(node.op, node.name, f"input rank {x.rank}")
    out_channels = kernel_oihw.shape[0]
    fused = _fused_args(cx, node, first_arg)
    if fused.scale is not None:
        kernel_oihw = kernel_oihw * np.broadcast_to(fused.scale, (out_channels,)).reshape(-1, 1, 1, 1)
    bias = None if fused.bias is None else np.broadcast_to(fused.bias, (out_channels,)).astype(np.float32)
    win = window(node, (x.shape[1], x.shape[2]), (kernel_oihw.shape[2], kernel_oihw.shape[3]))
    inputs = [cx.input_name(node, 0, Layout.CF), cx.initializer(kernel_oihw.astype(np.float32), f"{node.name}/kernel")]
    if bias is not None:
        inputs.append(cx.initializer(bias, f"{node.name}/bias"))
    out = cx.emit(
        "Conv",
        inputs,
        node.name if fused.activation is None else f"{node.name}/conv",
        kernel_shape=list(win.kernel),
        strides=list(win.strides),
        dilations=list(win.dilations),
        pads=list(win.pads),
        group=group,
    )[0]
    shape = (x.shape[0], *win.out_hw, out_channels)
    value = Value(shape, x.dtype)
    if fused.activation is not None:
        out = activation(cx, fused.activation, out, value, Layout.CF, node.name, fused.leaky_alpha, fused.prelu_slope)
    cx.define_onnx(node, out, shape, x.dtype, Layout.CF)


def convert_conv2d(cx: Converter, node: TfNode) -> None:
    kernel = cx.const_of(node, 1)  # TF HWIO
    x = cx.input_value(node, 0)
    if kernel.shape[2] != x.shape[3]:
        raise UnsupportedOpError(node.op, node.name, "grouped Conv2D")
    _conv(cx, node, kernel.transpose(3, 2, 0, 1), 1, 2)


def convert_depthwise(cx: Converter, node: TfNode) -> None:
    kernel = cx.const_of(node, 1)  # TF (H, W, C, multiplier); output channel = c * multiplier + m
    h, w, channels, mult = kernel.shape
    oihw = kernel.reshape(h, w, channels * mult).transpose(2, 0, 1)[:, None, :, :]
    _conv(cx, node, oihw, channels, 2)


def convert_pool(cx: Converter, node: TfNode) -> None:
    x = cx.input_value(node, 0)
    ksize = node.attr_ints("ksize")
    if x.rank != 4 or len(ksize) != 4 or ksize[0] != 1 or ksize[3] != 1:
        raise UnsupportedOpError(node.op, node.name, f"ksize {ksize}")
    win = window(node, (x.shape[1], x.shape[2]), (ksize[1], ksize[2]))
    attrs: dict[str, Any] = {"kernel_shape": list(win.kernel), "strides": list(win.strides), "pads": list(win.pads)}
    if node.op == "AvgPool":
        attrs["count_include_pad"] = 0
    op = "MaxPool" if node.op == "MaxPool" else "AveragePool"
    out = cx.emit(op, [cx.input_name(node, 0, Layout.CF)], node.name, **attrs)[0]
    cx.define_onnx(node, out, (x.shape[0], *win.out_hw, x.shape[3]), x.dtype, Layout.CF)


_REDUCE = {"Mean": "ReduceMean", "Sum": "ReduceSum", "Max": "ReduceMax", "Min": "ReduceMin", "Prod": "ReduceProd"}


def convert_reduce(cx: Converter, node: TfNode) -> None:
    x = cx.input_value(node, 0)
    axes = sorted({int(a) % max(x.rank, 1) for a in np.atleast_1d(cx.const_of(node, 1))})
    keep = node.attr_bool("keep_dims")
    if not axes:
        cx.define(node, 0, x)
        return
    layout = Layout.CF if keep and x.rank == 4 and Layout.CF in x.names else Layout.TF
    onnx_axes = [TO_CF.index(a) for a in axes] if layout is Layout.CF else axes
    op = _REDUCE[node.op]
    name = cx.input_name(node, 0, layout)
    if op == "ReduceSum":
        out = cx.emit(op, [name, cx.int64s(onnx_axes, f"{node.name}/axes")], node.name, keepdims=int(keep))[0]
    else:
        out = cx.emit(op, [name], node.name, axes=onnx_axes, keepdims=int(keep))[0]
    shape = tuple(1 if i in axes else s for i, s in enumerate(x.shape) if keep or i not in axes)
    cx.define_onnx(node, out, shape, x.dtype, layout)


def _exact_ratio(out: int, size: int) -> float | None:
    """``out / size`` when one divides the other (so it is exact in float32), else None."""
    return out / size if out % size == 0 or size % out == 0 else None


def convert_resize(cx: Converter, node: TfNode) -> None:
    x = cx.input_value(node, 0)
    height, width = (int(s) for s in cx.const_of(node, 1))
    align, half = node.attr_bool("align_corners"), node.attr_bool("half_pixel_centers")
    nearest = node.op == "ResizeNearestNeighbor"
    if align:
        mode, nearest_mode = "align_corners", "round_prefer_ceil"
    elif half:
        mode, nearest_mode = ("tf_half_pixel_for_nn" if nearest else "half_pixel"), "floor"
    else:
        mode, nearest_mode = "asymmetric", "floor"
    shape = (x.shape[0], height, width, x.shape[3])
    attrs: dict[str, Any] = {"mode": "nearest" if nearest else "linear", "coordinate_transformation_mode": mode}
    if nearest:
        attrs["nearest_mode"] = nearest_mode
    if cx.dynamic:  # exact power-of-two style factors keep the graph valid at other input sizes
        ratios = [_exact_ratio(out, size) for out, size in ((height, x.shape[1]), (width, x.shape[2]))]
        if None in ratios:
            raise UnsupportedOpError(node.op, node.name, "non-integer scale in a spatially dynamic graph")
        factors = np.array([1, 1, *ratios], dtype=np.float32)
        size_inputs = ["", cx.initializer(factors, f"{node.name}/scales")]
    else:
        size_inputs = ["", "", cx.int64s(cf_shape(shape), f"{node.name}/sizes")]
    out = cx.emit("Resize", [cx.input_name(node, 0, Layout.CF), *size_inputs], node.name, **attrs)[0]
    cx.define_onnx(node, out, shape, x.dtype, Layout.CF)


def convert_matmul(cx: Converter, node: TfNode) -> None:
    a, b = cx.input_value(node, 0), cx.input_value(node, 1)
    if a.rank != 2 or b.rank != 2:
        raise UnsupportedOpError(node.op, node.name, "only rank-2 MatMul is supported")
    a_name = cx.input_name(node, 0, Layout.TF)
    if node.attr_bool("transpose_a"):
        a_name = cx.emit("Transpose", [a_name], f"{node.name}/a_t", perm=[1, 0])[0]
    if b.const is not None:
        weights = b.const.T if node.attr_bool("transpose_b") else b.const
        b_name = cx.initializer(np.ascontiguousarray(weights), f"{node.name}/weights")
    else:
        b_name = cx.input_name(node, 1, Layout.TF)
        if node.attr_bool("transpose_b"):
            b_name = cx.emit("Transpose", [b_name], f"{node.name}/b_t", perm=[1, 0])[0]
    rows = a.shape[1] if node.attr_bool("transpose_a") else a.shape[0]
    cols = b.shape[0] if node.attr_bool("transpose_b") else b.shape[1]
    fused = _fused_args(cx, node, 2) if node.op == "_FusedMatMul" else FusedArgs()
    if fused.scale is not None:
        raise UnsupportedOpError(node.op, node.name, "FusedBatchNorm after MatMul")
    out = cx.emit("MatMul", [a_name, b_name], f"{node.name}/matmul")[0]
    if fused.bias is not None:
        out = cx.emit("Add", [out, cx.initializer(fused.bias, f"{node.name}/bias")], f"{node.name}/bias_add")[0]
    value = Value((rows, cols), a.dtype)
    if fused.activation is not None:
        out = activation(cx, fused.activation, out, value, Layout.TF, node.name, fused.leaky_alpha, fused.prelu_slope)
    out = cx.emit("Identity", [out], node.name)[0]
    cx.define_onnx(node, out, (rows, cols), a.dtype, Layout.TF)


def handlers() -> dict[str, Handler]:
    return {
        "Conv2D": convert_conv2d, "_FusedConv2D": convert_conv2d,
        "DepthwiseConv2dNative": convert_depthwise, "FusedDepthwiseConv2dNative": convert_depthwise,
        "MaxPool": convert_pool, "AvgPool": convert_pool,
        "Mean": convert_reduce, "Sum": convert_reduce, "Max": convert_reduce, "Min": convert_reduce,
        "Prod": convert_reduce,
        "ResizeBilinear": convert_resize, "ResizeNearestNeighbor": convert_resize,
        "MatMul": convert_matmul, "_FusedMatMul": convert_matmul,
    }  # fmt: skip
