"""Op-level tests of the TF.js -> ONNX converter: tiny synthetic graphs vs NumPy references."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
import pytest

from tests.vigil_build.tfjs_builder import GraphBuilder, conv_attrs, ints, s, strs
from vigil_build.convert import UnsupportedOpError
from vigil_build.convert.graph import GraphSpec
from vigil_build.convert.registry import convert_tfjs
from vigil_build.convert.tfjs import read_weights

Array = npt.NDArray[Any]
RNG = np.random.default_rng(7)


def convert(builder: GraphBuilder, outputs: list[str], spatial: dict[str, tuple[int, int]] | None = None) -> bytes:
    model_json, shards = builder.files()
    inputs = {f"{name}:0": name for name in builder.inputs}
    spec = GraphSpec(
        name="test",
        inputs=inputs,
        outputs={ref: f"out{i}" for i, ref in enumerate(outputs)},
        spatial_axes={f"{k}:0": v for k, v in (spatial or {}).items()},
    )
    return convert_tfjs(model_json, shards, spec)


def run(model: bytes, feeds: dict[str, Array]) -> list[Array]:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return [np.asarray(o) for o in session.run(None, feeds)]


# -- NumPy references (TF semantics) --------------------------------------------------------------
def same_pads(size: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int, int]:
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2, out


def conv_ref(x: Array, k: Array, stride: int, padding: str, depthwise: bool = False) -> Array:
    """NHWC conv with an HWIO kernel (or HW C M for depthwise), TF padding rules."""
    kh, kw = k.shape[:2]
    _, h, w, c = x.shape
    if padding == "SAME":
        top, bottom, out_h = same_pads(h, kh, stride)
        left, right, out_w = same_pads(w, kw, stride)
    else:
        top = bottom = left = right = 0
        out_h, out_w = (h - kh) // stride + 1, (w - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    out_c = c * k.shape[3] if depthwise else k.shape[3]
    out = np.zeros((1, out_h, out_w, out_c), np.float64)
    for i in range(out_h):
        for j in range(out_w):
            patch = xp[0, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
            if depthwise:
                out[0, i, j] = np.einsum("hwc,hwcm->cm", patch, k).reshape(-1)
            else:
                out[0, i, j] = np.tensordot(patch, k, axes=([0, 1, 2], [0, 1, 2]))
    return out


def resize_ref(x: Array, out_h: int, out_w: int, half_pixel: bool) -> Array:
    """TF ResizeBilinear (align_corners=False) on NHWC."""

    def axis(out: int, size: int) -> tuple[Array, Array, Array]:
        scale = size / out
        src = (np.arange(out) + 0.5) * scale - 0.5 if half_pixel else np.arange(out) * scale
        low = np.floor(src).astype(int)
        frac = src - low
        return np.clip(low, 0, size - 1), np.clip(low + 1, 0, size - 1), frac

    y0, y1, fy = axis(out_h, x.shape[1])
    x0, x1, fx = axis(out_w, x.shape[2])
    top = x[:, y0][:, :, x0] * (1 - fx)[None, None, :, None] + x[:, y0][:, :, x1] * fx[None, None, :, None]
    bottom = x[:, y1][:, :, x0] * (1 - fx)[None, None, :, None] + x[:, y1][:, :, x1] * fx[None, None, :, None]
    result: Array = top * (1 - fy)[None, :, None, None] + bottom * fy[None, :, None, None]
    return result


# -- tests ---------------------------------------------------------------------------------------
def test_fused_conv_same_padding_stride2_bias_relu6() -> None:
    x = RNG.normal(size=(1, 9, 11, 3)).astype(np.float32) * 3
    k = RNG.normal(size=(3, 3, 3, 4)).astype(np.float32)
    bias = RNG.normal(size=4).astype(np.float32)
    g = GraphBuilder()
    g.placeholder("x", x.shape)
    g.const("k", k)
    g.const("b", bias)
    g.op(
        "_FusedConv2D",
        "conv",
        ["x", "k", "b"],
        num_args={"i": "1"},
        fused_ops=strs("BiasAdd", "Relu6"),
        **conv_attrs(strides=2, padding="SAME"),
    )
    (got,) = run(convert(g, ["conv:0"]), {"x": x})
    want = np.clip(conv_ref(x, k, 2, "SAME") + bias, 0, 6)
    assert got.shape == (1, 5, 6, 4)  # ceil(9/2), ceil(11/2)
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_fused_conv_with_batch_norm_folded_into_weights() -> None:
    x = RNG.normal(size=(1, 6, 6, 2)).astype(np.float32)
    k = RNG.normal(size=(1, 1, 2, 3)).astype(np.float32)
    scale, offset = np.array([1.5, 0.5, 2.0], np.float32), np.array([0.1, -0.2, 0.3], np.float32)
    mean, var = np.array([0.2, 0.0, -0.1], np.float32), np.array([1.0, 4.0, 0.25], np.float32)
    g = GraphBuilder()
    g.placeholder("x", x.shape)
    names = [g.const(n, v) for n, v in (("k", k), ("sc", scale), ("of", offset), ("mu", mean), ("var", var))]
    g.op(
        "_FusedConv2D",
        "conv",
        ["x", *names],
        num_args={"i": "4"},
        fused_ops=strs("FusedBatchNorm", "Relu"),
        epsilon={"f": 0.001},
        **conv_attrs(padding="VALID"),
    )
    (got,) = run(convert(g, ["conv:0"]), {"x": x})
    raw = conv_ref(x, k, 1, "VALID")
    want = np.maximum((raw - mean) / np.sqrt(var + 0.001) * scale + offset, 0)
    np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.mark.parametrize(("stride", "padding"), [(1, "SAME"), (2, "VALID"), (2, "SAME")])
def test_depthwise_conv_with_channel_multiplier(stride: int, padding: str) -> None:
    x = RNG.normal(size=(1, 8, 7, 3)).astype(np.float32)
    k = RNG.normal(size=(3, 3, 3, 2)).astype(np.float32)
    bias = RNG.normal(size=6).astype(np.float32)
    g = GraphBuilder()
    g.placeholder("x", x.shape)
    g.const("k", k)
    g.const("b", bias)
    g.op(
        "FusedDepthwiseConv2dNative",
        "dw",
        ["x", "k", "b"],
        num_args={"i": "1"},
        fused_ops=strs("BiasAdd", "Relu"),
        **conv_attrs(strides=stride, padding=padding),
    )
    (got,) = run(convert(g, ["dw:0"]), {"x": x})
    want = np.maximum(conv_ref(x, k, stride, padding, depthwise=True) + bias, 0)
    np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.mark.parametrize(("half_pixel", "size"), [(False, (10, 14)), (True, (10, 14)), (True, (3, 4))])
def test_resize_bilinear_matches_tf_semantics(half_pixel: bool, size: tuple[int, int]) -> None:
    x = RNG.normal(size=(1, 5, 7, 2)).astype(np.float32)
    g = GraphBuilder()
    g.placeholder("x", x.shape)
    g.const("size", size, np.int32)
    g.op("ResizeBilinear", "up", ["x", "size"], align_corners={"b": False}, half_pixel_centers={"b": half_pixel})
    (got,) = run(convert(g, ["up:0"]), {"x": x})
    np.testing.assert_allclose(got, resize_ref(x, *size, half_pixel=half_pixel), atol=1e-5)


def test_nchw_transposes_around_conv_cancel_out() -> None:
    """ONNX->TF exports wrap every conv in NCHW<->NHWC transposes; they must cost nothing."""
    x = RNG.normal(size=(1, 3, 6, 6)).astype(np.float32)  # NCHW, like nanodet's input
    k = RNG.normal(size=(3, 3, 3, 4)).astype(np.float32)
    g = GraphBuilder()
    g.placeholder("x", x.shape)
    g.const("pads", [[0, 0], [0, 0], [1, 1], [1, 1]], np.int32)
    g.op("Pad", "pad", ["x", "pads"])
    g.const("to_nhwc", [0, 2, 3, 1], np.int32)
    g.op("Transpose", "t1", ["pad", "to_nhwc"])
    g.const("k", k)
    g.op("Conv2D", "conv", ["t1", "k"], **conv_attrs(padding="VALID"))
    g.op("LeakyRelu", "act", ["conv"], alpha={"f": 0.1})
    g.const("to_nchw", [0, 3, 1, 2], np.int32)
    g.op("Transpose", "t2", ["act", "to_nchw"])
    model = convert(g, ["t2:0"])
    ops = [n.op_type for n in onnx.load_from_string(model).graph.node]
    assert "Transpose" not in ops
    (got,) = run(model, {"x": x})
    ref = conv_ref(x.transpose(0, 2, 3, 1), k, 1, "SAME")
    want = np.where(ref > 0, ref, 0.1 * ref).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_heatmap_peak_decode_ops() -> None:
    """MaxPool, Equal, Cast, Reshape, TopKV2, FloorDiv/FloorMod, GatherV2, StridedSlice, ConcatV2."""
    heat = RNG.uniform(size=(1, 6, 5, 3)).astype(np.float32)
    g = GraphBuilder()
    g.placeholder("h", heat.shape)
    g.op(
        "MaxPool",
        "mp",
        ["h"],
        ksize=ints(1, 3, 3, 1),
        strides=ints(1, 1, 1, 1),
        padding=s("SAME"),
        data_format=s("NHWC"),
    )
    g.op("Equal", "eq", ["h", "mp"])
    g.op("Cast", "keep", ["eq"], DstT={"type": "DT_FLOAT"}, SrcT={"type": "DT_BOOL"})
    g.op("Mul", "peaks", ["h", "keep"])
    g.const("flat", [1, -1], np.int32)
    g.op("Reshape", "r", ["peaks", "flat"])
    g.const("k", 4, np.int32)
    g.op("TopKV2", "top", ["r", "k"], sorted={"b": True})
    g.const("three", 3, np.int32)
    g.op("FloorDiv", "cell", ["top:1", "three"])
    g.op("FloorMod", "cls", ["top:1", "three"])
    g.const("flat_h", [-1], np.int32)
    g.op("Reshape", "hflat", ["h", "flat_h"])
    g.const("axis0", 0, np.int32)
    g.op("GatherV2", "gathered", ["hflat", "top:1", "axis0"])
    for i, name in enumerate(("begin", "end", "step")):
        g.const(name, [[0, 1], [1, 3], [1, 1]][i], np.int32)
    g.op(
        "StridedSlice",
        "best",
        ["top:0", "begin", "end", "step"],
        begin_mask={"i": "0"},
        end_mask={"i": "0"},
        shrink_axis_mask={"i": "1"},
        ellipsis_mask={"i": "0"},
        new_axis_mask={"i": "0"},
    )
    g.op("Cast", "cell_f", ["cell"], DstT={"type": "DT_FLOAT"})
    g.op("Cast", "cls_f", ["cls"], DstT={"type": "DT_FLOAT"})
    g.const("axis1", 0, np.int32)
    g.op("ConcatV2", "out", ["gathered", "cell_f", "cls_f", "axis1"], N={"i": "3"})
    got_out, got_best = run(convert(g, ["out:0", "best:0"]), {"h": heat})
    padded = np.pad(heat, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    window = np.max([padded[:, dy : dy + 6, dx : dx + 5] for dy in range(3) for dx in range(3)], axis=0)
    flat = (heat * (heat == window)).reshape(-1)
    order = np.argsort(-flat, kind="stable")[:4]
    want = np.stack([heat.reshape(-1)[order], order // 3, order % 3]).astype(np.float32)  # (3, 4)
    np.testing.assert_allclose(got_out, want, atol=1e-6)
    np.testing.assert_allclose(got_best, flat[order][1:3], atol=1e-6)


def test_mean_matmul_and_split_heads() -> None:
    x = RNG.normal(size=(1, 4, 4, 6)).astype(np.float32)
    w = RNG.normal(size=(6, 5)).astype(np.float32)
    bias = RNG.normal(size=5).astype(np.float32)
    g = GraphBuilder()
    g.placeholder("x", x.shape)
    g.const("axes", [1, 2], np.int32)
    g.op("Mean", "gap", ["x", "axes"], keep_dims={"b": False})
    g.const("w", w)
    g.const("b", bias)
    g.op(
        "_FusedMatMul",
        "fc",
        ["gap", "w", "b"],
        transpose_a={"b": False},
        transpose_b={"b": False},
        num_args={"i": "1"},
        fused_ops=strs("BiasAdd", "Sigmoid"),
    )
    g.const("sizes", [2, -1], np.int32)
    g.const("dim", 3, np.int32)
    g.op("SplitV", "split", ["x", "sizes", "dim"], num_split={"i": "2"})
    fc, first, second = run(convert(g, ["fc:0", "split:0", "split:1"]), {"x": x})
    np.testing.assert_allclose(fc, 1 / (1 + np.exp(-(x.mean(axis=(1, 2)) @ w + bias))), atol=1e-5)
    np.testing.assert_array_equal(first, x[..., :2])
    np.testing.assert_array_equal(second, x[..., 2:])


def test_spatially_dynamic_graph_runs_at_other_sizes() -> None:
    k = RNG.normal(size=(3, 3, 2, 2)).astype(np.float32)
    g = GraphBuilder()
    g.placeholder("x", (1, 8, 8, 2))
    g.const("k", k)
    g.op("Conv2D", "down", ["x", "k"], **conv_attrs(strides=2))
    g.const("size", [8, 8], np.int32)
    g.op("ResizeBilinear", "up", ["down", "size"], align_corners={"b": False}, half_pixel_centers={"b": False})
    model = convert(g, ["up:0"], spatial={"x": (1, 2)})
    x = RNG.normal(size=(1, 16, 24, 2)).astype(np.float32)
    (got,) = run(model, {"x": x})
    np.testing.assert_allclose(got, resize_ref(conv_ref(x, k, 2, "SAME"), 16, 24, half_pixel=False), atol=1e-4)


@pytest.mark.parametrize("quantize", ["float16", "uint8"])
def test_quantised_weights_are_dequantised(quantize: str) -> None:
    values = np.linspace(-2.0, 3.0, 12, dtype=np.float32).reshape(3, 4)
    g = GraphBuilder(quantize=quantize)
    g.const("w", values)
    g.const("ids", [1, 2, 3], np.int32)
    model_json, shards = g.files()
    import json

    weights = read_weights(json.loads(model_json)["weightsManifest"], shards)
    tolerance = 1e-3 if quantize == "float16" else 5.0 / 255
    np.testing.assert_allclose(weights["w"], values, atol=tolerance)
    np.testing.assert_array_equal(weights["ids"], [1, 2, 3])


def test_conversion_is_deterministic_and_unsupported_ops_are_named() -> None:
    g = GraphBuilder()
    g.placeholder("x", (1, 4, 4, 1))
    g.op("Relu", "r", ["x"])
    assert convert(g, ["r:0"]) == convert(g, ["r:0"])
    g.op("Cumsum", "bad", ["r"])
    with pytest.raises(UnsupportedOpError, match="Cumsum"):
        convert(g, ["bad:0"])
