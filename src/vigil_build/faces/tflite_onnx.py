"""Convert a float32 TFLite model made of plain CNN ops into an ONNX model for onnxruntime.

Only what the face embedders need: ``CONV_2D``, ``DEPTHWISE_CONV_2D``, ``ADD``, ``SUB``, ``MUL``, ``RELU``,
``ABS``, ``RESHAPE``. Activations run NCHW inside the ONNX graph; the graph's inputs and outputs keep the TFLite
(NHWC) layout, with the batch dimension made dynamic (TFLite exports often fix it, e.g. at 2).

The output is deterministic: the same TFLite bytes give byte-identical ONNX, so a build can be checked by SHA-256.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
PRODUCER = "vigil.vision.faces.tflite_onnx"
"""Written into the ONNX file; kept from where the converter first lived so rebuilt models stay byte-identical."""
_SAME, _VALID = 0, 1
_FUSED = {0: None, 1: "Relu", 3: "Relu6"}


class TfliteConversionError(Exception):
    """The TFLite model could not be read, or uses something this converter does not implement."""


@dataclass
class _Tensor:
    name: str
    shape: tuple[int, ...]
    data: npt.NDArray[Any] | None
    nchw: bool = False


@dataclass
class _Graph:
    tensors: list[_Tensor]
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)

    def constant(self, name: str, value: npt.NDArray[Any]) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output


def _tflite() -> Any:
    try:
        return importlib.import_module("tflite")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise TfliteConversionError("converting TFLite models needs the 'tflite' package (pip install tflite)") from exc


def _read_tensors(model: Any, subgraph: Any, tensor_type: Any) -> list[_Tensor]:
    tensors: list[_Tensor] = []
    seen: set[str] = set()
    for i in range(subgraph.TensorsLength()):
        t = subgraph.Tensors(i)
        if t.Type() not in (tensor_type.FLOAT32, tensor_type.INT32):
            raise TfliteConversionError(f"tensor {i} has type {t.Type()}; only float32 models are supported")
        name = t.Name().decode()
        name = name if name not in seen else f"{name}:{i}"
        seen.add(name)
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        buffer = model.Buffers(t.Buffer())
        data = None
        if buffer is not None and buffer.DataLength():
            dtype = np.float32 if t.Type() == tensor_type.FLOAT32 else np.int32
            data = np.frombuffer(buffer.DataAsNumpy().tobytes(), dtype=dtype).reshape(shape)
        tensors.append(_Tensor(name, shape, data))
    return tensors


def _options(op: Any, cls: Any) -> Any:
    table = op.BuiltinOptions()
    if table is None:
        return None
    options = cls()
    options.Init(table.Bytes, table.Pos)
    return options


def _fused(graph: _Graph, out: str, code: int) -> str:
    if code not in _FUSED:
        raise TfliteConversionError(f"fused activation {code} at {out!r} is not supported")
    if _FUSED[code] == "Relu":
        return graph.node("Relu", [out + ":pre"], out)
    if _FUSED[code] == "Relu6":
        lo = graph.constant(out + ":lo", np.array(0, np.float32))
        hi = graph.constant(out + ":hi", np.array(6, np.float32))
        return graph.node("Clip", [out + ":pre", lo, hi], out)
    return out


def _same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _conv(graph: _Graph, op: Any, tfl: Any, *, depthwise: bool) -> None:
    x, w, b = (graph.tensors[op.Inputs(i)] for i in range(3))
    y = graph.tensors[op.Outputs(0)]
    opts = _options(op, tfl.DepthwiseConv2DOptions if depthwise else tfl.Conv2DOptions)
    if w.data is None or b.data is None or not x.nchw:
        raise TfliteConversionError(f"convolution {y.name!r} needs constant weights and a 4-D activation input")
    if depthwise:
        weights, group = w.data.transpose(3, 0, 1, 2), x.shape[3]  # [1,H,W,C*M] -> [C*M,1,H,W]
    else:
        weights, group = w.data.transpose(0, 3, 1, 2), 1  # [O,H,W,I] -> [O,I,H,W]
    kh, kw = weights.shape[2:]
    dh, dw = opts.DilationHFactor(), opts.DilationWFactor()
    pads = [0, 0, 0, 0]
    if opts.Padding() == _SAME:
        top, bottom = _same_pads(x.shape[1], kh, opts.StrideH(), dh)
        left, right = _same_pads(x.shape[2], kw, opts.StrideW(), dw)
        pads = [top, left, bottom, right]
    elif opts.Padding() != _VALID:
        raise TfliteConversionError(f"padding {opts.Padding()} at {y.name!r} is not supported")
    activation = opts.FusedActivationFunction()
    out = y.name if activation == 0 else y.name + ":pre"
    inputs = [x.name, graph.constant(w.name + ":oihw", weights), graph.constant(b.name, b.data)]
    strides, dilations = [opts.StrideH(), opts.StrideW()], [dh, dw]
    graph.node("Conv", inputs, out, group=group, pads=pads, strides=strides, dilations=dilations)
    _fused(graph, y.name, activation)
    y.nchw = True


def _operand(graph: _Graph, tensor: _Tensor, other: _Tensor) -> str:
    if tensor.data is None:
        return tensor.name
    value = tensor.data
    if other.nchw and value.ndim == 1:
        value = value.reshape(-1, 1, 1)
    elif other.nchw and value.ndim == 4:
        value = value.transpose(0, 3, 1, 2)
    return graph.constant(tensor.name, value)


def _binary(onnx_op: str, options_cls: str) -> Callable[[_Graph, Any, Any], None]:
    def convert(graph: _Graph, op: Any, tfl: Any) -> None:
        a, b = graph.tensors[op.Inputs(0)], graph.tensors[op.Inputs(1)]
        y = graph.tensors[op.Outputs(0)]
        opts = _options(op, getattr(tfl, options_cls))
        activation = opts.FusedActivationFunction() if opts is not None else 0
        out = y.name if activation == 0 else y.name + ":pre"
        graph.node(onnx_op, [_operand(graph, a, b), _operand(graph, b, a)], out)
        _fused(graph, y.name, activation)
        y.nchw = a.nchw or b.nchw

    return convert


def _unary(onnx_op: str) -> Callable[[_Graph, Any, Any], None]:
    def convert(graph: _Graph, op: Any, tfl: Any) -> None:
        x, y = graph.tensors[op.Inputs(0)], graph.tensors[op.Outputs(0)]
        graph.node(onnx_op, [x.name], y.name)
        y.nchw = x.nchw

    return convert


def _reshape(graph: _Graph, op: Any, tfl: Any) -> None:
    x, y = graph.tensors[op.Inputs(0)], graph.tensors[op.Outputs(0)]
    source = x.name
    if x.nchw:
        source = graph.node("Transpose", [x.name], y.name + ":nhwc", perm=[0, 2, 3, 1])
    shape = np.array([0, *y.shape[1:]], dtype=np.int64)  # 0 copies the (dynamic) batch dimension
    graph.node("Reshape", [source, graph.constant(y.name + ":shape", shape)], y.name)


_CONVERTERS: dict[str, Callable[[_Graph, Any, Any], None]] = {
    "CONV_2D": lambda g, op, tfl: _conv(g, op, tfl, depthwise=False),
    "DEPTHWISE_CONV_2D": lambda g, op, tfl: _conv(g, op, tfl, depthwise=True),
    "ADD": _binary("Add", "AddOptions"),
    "SUB": _binary("Sub", "SubOptions"),
    "MUL": _binary("Mul", "MulOptions"),
    "RELU": _unary("Relu"),
    "ABS": _unary("Abs"),
    "RESHAPE": _reshape,
}


def _op_names(tfl: Any) -> dict[int, str]:
    return {v: k for k, v in vars(tfl.BuiltinOperator).items() if not k.startswith("_") and isinstance(v, int)}


def _value_info(tensor: _Tensor, name: str) -> onnx.ValueInfoProto:
    shape: list[str | int] = ["batch", *tensor.shape[1:]]
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def convert_tflite(data: bytes, *, graph_name: str) -> onnx.ModelProto:
    """An ONNX model computing the same function as the TFLite flatbuffer ``data``, with a dynamic batch."""
    tfl = _tflite()
    try:
        model = tfl.Model.GetRootAsModel(data, 0)
        subgraph = model.Subgraphs(0)
        tensors = _read_tensors(model, subgraph, tfl.TensorType)
    except (IndexError, ValueError, TypeError, AttributeError) as exc:
        raise TfliteConversionError(f"not a readable TFLite model: {exc}") from exc
    graph = _Graph(tensors)
    inputs = [tensors[subgraph.Inputs(i)] for i in range(subgraph.InputsLength())]
    graph_inputs = []
    for tensor in inputs:
        graph_inputs.append(_value_info(tensor, tensor.name))
        tensor.name = graph.node("Transpose", [tensor.name], tensor.name + ":nchw", perm=[0, 3, 1, 2])
        tensor.nchw = True
    names, codes = _op_names(tfl), model.OperatorCodes
    for i in range(subgraph.OperatorsLength()):
        op = subgraph.Operators(i)
        code = codes(op.OpcodeIndex())
        name = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "custom")
        if name not in _CONVERTERS:
            raise TfliteConversionError(f"TFLite op {name} (operator {i}) is not supported")
        _CONVERTERS[name](graph, op, tfl)
    outputs = [tensors[subgraph.Outputs(i)] for i in range(subgraph.OutputsLength())]
    graph_outputs = []
    for tensor in outputs:
        if tensor.nchw:
            raise TfliteConversionError(f"4-D output {tensor.name!r} is not supported")
        graph_outputs.append(_value_info(tensor, tensor.name))
    onnx_graph = helper.make_graph(graph.nodes, graph_name, graph_inputs, graph_outputs, graph.initializers)
    result = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name=PRODUCER)
    result.ir_version = 8
    onnx.checker.check_model(result)
    return result
