"""Core of the TF GraphDef -> ONNX converter: values, layouts and node emission.

Layouts
-------
TF graphs from TF.js are channels-last (NHWC); ONNX's Conv/Pool/Resize are channels-first. Every TF
tensor is tracked with static shape, dtype, an optional constant value and up to two ONNX names:

* ``Layout.TF``: the ONNX value holds the tensor exactly as TF sees it;
* ``Layout.CF``: (rank 4 only) the ONNX value holds ``tf_value.transpose(0, 3, 1, 2)``.

Spatial ops produce CF values, element-wise ops keep whichever layout their inputs have, and any op
that cares about axis order asks for TF. A layout missing when asked for is materialised once with a
``Transpose`` (or, for constants, a permuted initializer). Explicit TF ``Transpose`` nodes that merely
switch between the two layouts (common in graphs that went ONNX -> TF) become no-ops.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import helper, numpy_helper

from vigil_build.convert import fold as folding
from vigil_build.convert.errors import ConversionError, UnsupportedOpError
from vigil_build.convert.tfjs import TfGraphModel, TfNode, canonical_ref

TO_CF = (0, 3, 1, 2)
TO_TF = (0, 2, 3, 1)
OPSET = 17
IR_VERSION = 8


class Layout(enum.Enum):
    TF = "tf"
    CF = "cf"


@dataclass
class Value:
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    const: npt.NDArray[Any] | None = None
    names: dict[Layout, str] = field(default_factory=dict)
    broadcast_cf: str | None = None
    """For a constant of rank < 4: an initializer padded to rank 4 and made channels-first."""

    @property
    def rank(self) -> int:
        return len(self.shape)


def cf_shape(shape: Sequence[int]) -> tuple[int, ...]:
    return tuple(shape[p] for p in TO_CF)


def compose(first: Sequence[int], then: Sequence[int]) -> tuple[int, ...]:
    """The permutation equal to transposing by ``first`` and then by ``then``."""
    return tuple(first[i] for i in then)


@dataclass(frozen=True)
class GraphSpec:
    """What to convert: graph inputs/outputs by TF reference (``node:index``) and their ONNX names.

    ``spatial_axes`` makes the listed axes of an input symbolic (``height``/``width``): shapes are
    then worked out at the graph's own input size and ``Resize`` nodes use scale factors, so the
    model also runs at other sizes that keep every stride's rounding (multiples of the total stride)
    as long as no op in the converted part bakes a spatial size in. ``channels_first_outputs`` lists
    rank-4 outputs written transposed ``(0, 3, 1, 2)`` (saves a transpose when the graph computes
    them channels-first anyway).
    """

    name: str
    inputs: Mapping[str, str]
    outputs: Mapping[str, str]
    spatial_axes: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    channels_first_outputs: frozenset[str] = frozenset()
    doc: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[["Converter", TfNode], None]


class Converter:
    """Accumulates ONNX nodes and initializers while walking a TF graph in topological order."""

    def __init__(self, model: TfGraphModel, handlers: Mapping[str, Handler], *, dynamic: bool = False) -> None:
        self.model = model
        self.handlers = handlers
        self.dynamic = dynamic
        """True when spatial input sizes are symbolic (resizes must then use scale factors)."""
        self.values: dict[str, Value] = {}
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._names: set[str] = set()

    # -- names and emission -------------------------------------------------------------------
    def unique(self, hint: str) -> str:
        name, n = hint, 1
        while name in self._names:
            name, n = f"{hint}_{n}", n + 1
        self._names.add(name)
        return name

    def initializer(self, array: npt.NDArray[Any], hint: str) -> str:
        name = self.unique(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def emit(self, op_type: str, inputs: Sequence[str], hint: str, outputs: int = 1, **attrs: Any) -> list[str]:
        out_names = [self.unique(hint if i == 0 else f"{hint}:{i}") for i in range(outputs)]
        node_name = self.unique(f"{hint}#{op_type}")
        self.nodes.append(helper.make_node(op_type, list(inputs), out_names, name=node_name, **attrs))
        return out_names

    def int64s(self, values: Sequence[int], hint: str) -> str:
        return self.initializer(np.asarray(values, dtype=np.int64), hint)

    # -- values -------------------------------------------------------------------------------
    def value(self, ref: str) -> Value:
        try:
            return self.values[canonical_ref(ref)]
        except KeyError:
            raise ConversionError(f"tensor {ref!r} is used before it is defined") from None

    def input_value(self, node: TfNode, index: int) -> Value:
        if index >= len(node.inputs):
            raise UnsupportedOpError(node.op, node.name, f"expected at least {index + 1} inputs")
        return self.value(node.inputs[index])

    def const_of(self, node: TfNode, index: int) -> npt.NDArray[Any]:
        value = self.input_value(node, index)
        if value.const is None:
            raise UnsupportedOpError(node.op, node.name, f"input {index} must be a constant")
        return value.const

    def define(self, node: TfNode, index: int, value: Value) -> None:
        self.values[f"{node.name}:{index}"] = value

    def define_onnx(
        self, node: TfNode, name: str, shape: Sequence[int], dtype: Any, layout: Layout, index: int = 0
    ) -> None:
        self.define(node, index, Value(tuple(shape), np.dtype(dtype), names={layout: name}))

    def name_of(self, value: Value, layout: Layout, hint: str = "v") -> str:
        """The ONNX name of ``value`` in ``layout``, materialising it if needed."""
        if layout in value.names:
            return value.names[layout]
        if layout is Layout.CF and value.rank != 4:
            raise ConversionError(f"channels-first layout requested for a rank-{value.rank} tensor")
        if value.const is not None:
            array = value.const if layout is Layout.TF else value.const.transpose(TO_CF)
            value.names[layout] = self.initializer(array, f"{hint}/{layout.value}")
            return value.names[layout]
        source = value.names[Layout.CF] if layout is Layout.TF else value.names[Layout.TF]
        perm = TO_TF if layout is Layout.TF else TO_CF
        value.names[layout] = self.emit("Transpose", [source], f"{source}/to_{layout.value}", perm=list(perm))[0]
        return value.names[layout]

    def input_name(self, node: TfNode, index: int, layout: Layout) -> str:
        return self.name_of(self.input_value(node, index), layout, node.inputs[index].split(":")[0])

    def operand(self, node: TfNode, index: int, layout: Layout) -> str:
        """An input of an element-wise op, broadcast-compatible with rank-4 ``layout`` operands."""
        value = self.input_value(node, index)
        hint = node.inputs[index].split(":")[0]
        if layout is Layout.TF or value.rank == 4:
            return self.name_of(value, layout, hint)
        if value.const is None:
            if value.rank == 0:
                return self.name_of(value, Layout.TF, hint)
            raise ConversionError(f"{node.name}: cannot broadcast a rank-{value.rank} tensor channels-first")
        if value.broadcast_cf is None:
            padded = value.const.reshape((1,) * (4 - value.rank) + value.const.shape)
            value.broadcast_cf = self.initializer(padded.transpose(TO_CF), f"{hint}/cf")
        return value.broadcast_cf

    def unary_layout(self, value: Value) -> Layout:
        return Layout.CF if Layout.CF in value.names else Layout.TF

    def preferred_layout(self, values: Sequence[Value]) -> Layout:
        """CF when some non-constant rank-4 value already has it and no non-constant value stops it."""
        dynamic = [v for v in values if v.const is None]
        if any(v.rank not in (0, 4) for v in dynamic):
            return Layout.TF
        if any(v.rank == 4 and Layout.CF in v.names for v in dynamic):
            return Layout.CF
        return Layout.TF

    # -- the walk -----------------------------------------------------------------------------
    def topological_nodes(self, output_refs: Sequence[str]) -> list[TfNode]:
        by_name = {n.name: n for n in self.model.nodes}
        order: list[TfNode] = []
        state: dict[str, int] = {}
        for ref in output_refs:
            stack: list[tuple[str, bool]] = [(ref.split(":")[0], False)]
            while stack:
                name, expanded = stack.pop()
                if expanded:
                    state[name] = 2
                    order.append(by_name[name])
                    continue
                if state.get(name) == 1:  # its "expanded" marker is still below us: we are its descendant
                    raise ConversionError(f"graph has a cycle through {name!r}")
                if state.get(name) == 2:
                    continue
                if name not in by_name:
                    raise ConversionError(f"node {name!r} is referenced but not defined")
                state[name] = 1
                stack.append((name, True))
                stack.extend((i.split(":")[0], False) for i in reversed(by_name[name].inputs))
        return order

    def convert_node(self, node: TfNode) -> None:
        if node.op == "Const":
            array = self.model.weights.get(node.name)
            if array is None:
                raise ConversionError(f"constant {node.name!r} has no value in the weights manifest")
            self.define(node, 0, Value(array.shape, array.dtype, const=array))
            return
        inputs = [self.value(i) for i in node.inputs]
        if inputs and all(v.const is not None for v in inputs):
            folded = folding.fold(node, [v.const for v in inputs if v.const is not None])
            if folded is not None:
                for i, array in enumerate(folded):
                    self.define(node, i, Value(array.shape, array.dtype, const=array))
                return
        handler = self.handlers.get(node.op)
        if handler is None:
            raise UnsupportedOpError(node.op, node.name)
        handler(self, node)


def _declare_inputs(cx: Converter, spec: GraphSpec) -> list[onnx.ValueInfoProto]:
    declared = []
    for sig in cx.model.inputs:
        onnx_name = spec.inputs.get(sig.name)
        if onnx_name is None:
            continue
        if any(d < 0 for d in sig.shape):
            raise ConversionError(f"input {sig.name!r} has a dynamic shape {sig.shape}; a fixed size is required")
        cx.unique(onnx_name)
        cx.values[sig.name] = Value(sig.shape, sig.dtype, names={Layout.TF: onnx_name})
        dims: list[int | str] = list(sig.shape)
        for axis, label in zip(spec.spatial_axes.get(sig.name, ()), ("height", "width"), strict=False):
            dims[axis] = label
        declared.append(helper.make_tensor_value_info(onnx_name, onnx_type(sig.dtype), dims))
    missing = set(spec.inputs) - {sig.name for sig in cx.model.inputs}
    if missing:
        raise ConversionError(f"inputs {sorted(missing)} are not in the model's signature")
    return declared


def _declare_outputs(cx: Converter, spec: GraphSpec) -> list[onnx.ValueInfoProto]:
    declared = []
    for ref, onnx_name in spec.outputs.items():
        value = cx.value(ref)
        first = ref in spec.channels_first_outputs
        source = cx.name_of(value, Layout.CF if first else Layout.TF, ref.split(":")[0])
        cx.unique(onnx_name)
        cx.nodes.append(helper.make_node("Identity", [source], [onnx_name], name=f"{onnx_name}#Identity"))
        shape = cf_shape(value.shape) if first else value.shape
        dims: list[int | None] = [None] * len(shape) if cx.dynamic else list(shape)
        declared.append(helper.make_tensor_value_info(onnx_name, onnx_type(value.dtype), dims))
    return declared


def convert_graph(
    model: TfGraphModel, spec: GraphSpec, handlers: Mapping[str, Handler], producer: tuple[str, str]
) -> onnx.ModelProto:
    """Convert ``model`` to an ONNX model with the inputs/outputs named by ``spec``."""
    cx = Converter(model, handlers, dynamic=bool(spec.spatial_axes))
    graph_inputs = _declare_inputs(cx, spec)
    for node in cx.topological_nodes(list(spec.outputs)):
        if node.op == "Placeholder":
            if f"{node.name}:0" not in cx.values:
                raise ConversionError(f"placeholder {node.name!r} is not a declared input")
            continue
        cx.convert_node(node)
    graph_outputs = _declare_outputs(cx, spec)
    graph = helper.make_graph(cx.nodes, spec.name, graph_inputs, graph_outputs, initializer=cx.initializers)
    onnx_model = helper.make_model(
        graph,
        producer_name=producer[0],
        producer_version=producer[1],
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        doc_string=spec.doc,
    )
    for key, val in spec.metadata.items():
        onnx_model.metadata_props.add(key=key, value=val)
    onnx.checker.check_model(onnx_model)
    return onnx_model


def onnx_type(dtype: Any) -> int:
    """The ONNX TensorProto element type of a NumPy dtype."""
    return int(helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
