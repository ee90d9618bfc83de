"""Functional models: a graph of layer calls from ``Input`` tensors to outputs."""

from __future__ import annotations

import torch

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.layers.base import Layer, _rank_fix
from cnnlab.layers.core import InputLayer
from cnnlab.layers.merge import Add
from cnnlab.layers.node import KerasTensor, Node, flatten, pack_like
from cnnlab.layers.serialization import layer_from_config, register_model_class, registered_name_of
from cnnlab.models._fusion import (
    FOLDABLE_CONVS,
    bn_chain_shape,
    fold_batch_norm,
    fold_residual,
    relu_then_max_pool,
    run_folded,
)
from cnnlab.models.model import Model
from cnnlab.models.op_nodes import (
    Operation,
    decoded_call_arguments,
    encode_argument,
    is_operation_entry,
    operation_entry,
    operation_from_config,
)
from cnnlab.models.trace import explain_shape_error


@register_model_class
class Functional(Model):
    """A model defined by ``Model(inputs, outputs)``.

    Args:
        inputs: a KerasTensor from ``Input(...)``, or a list/dict of them.
        outputs: a KerasTensor produced by calling layers on the inputs, or a list of them.
        name: model name (default ``functional``, ``functional_1``, ...).

    Example:
        >>> inputs = Input(shape=(28, 28, 1))
        >>> x = layers.Conv2D(32, 3, activation="relu")(inputs)
        >>> outputs = layers.Dense(10, activation="softmax")(layers.Flatten()(x))
        >>> model = Model(inputs, outputs)
    """

    def __init__(self, inputs, outputs, name=None, trainable=True):
        Model.__init__(self, name=name, trainable=trainable)
        self._input_structure = inputs
        self._output_structure = outputs
        self._inputs = flatten(inputs)
        self._outputs = flatten(outputs)
        for role, tensors in (("inputs", self._inputs), ("outputs", self._outputs)):
            for t in tensors:
                if not isinstance(t, KerasTensor):
                    raise ConfigError(
                        f"Model(): every entry of {role} must be a symbolic tensor from Input(...) or a layer call "
                        f"on one; got {type(t).__name__}. Received: {role}={t!r}"
                    )
        for t in self._inputs:
            if not isinstance(t.node.layer, InputLayer):
                raise ConfigError(
                    f"Model(): inputs must come straight from Input(...); {t!r} is the output of layer "
                    f"'{t.node.layer.name}'. Pass the Input tensor (e.g. model.input) instead."
                )
        self._nodes = self._collect_nodes()
        # Layers and operations (``x + y``) in Keras's order; only layers are sub-modules (``model.layers``).
        operations = _keras_layer_order(self._inputs, self._outputs, self._nodes)
        seen: set[str] = set()
        duplicate = next((op.name for op in operations if op.name in seen or seen.add(op.name)), None)
        if duplicate:
            raise ConfigError(f"Model(): layer names must be unique in a model; '{duplicate}' is used twice. "
                              "Give one of them another name=.")
        for layer in operations:
            if not isinstance(layer, Operation):
                self.add_module(self._free_module_key(layer.name), layer)
        self._operations = operations
        sole = self._sole_readers()
        # Pairs where the reader has one input: a conv and its pooling, a conv and its BatchNormalization...
        self._relu_pool_candidates = {k: r for k, r in sole.items() if len(r.inputs) == 1}
        self._bn_chains = self._batch_norm_chains(self._relu_pool_candidates)
        self._residual_chains = self._residual_blocks(sole)
        self.built = True

    def _residual_blocks(self, sole: dict) -> dict[int, tuple]:
        """Conv node id -> (BatchNormalization node, Add node, the Add's other input, activation node or None)
        for conv -> BN -> Add(shortcut) (-> ReLU) with each output read only by the next: in inference the
        whole block may run as one convolution (``cnnlab.models._fusion``)."""
        def only_reader(node):
            return sole.get(id(node))

        blocks, claimed = {}, set()
        for node in self._nodes:
            if type(node.layer) not in FOLDABLE_CONVS or not node.single_input_call:
                continue
            bn_node = only_reader(node)
            if bn_node is None or not bn_node.single_input_call or not bn_chain_shape(node.layer, bn_node.layer, None):
                continue
            add_node = only_reader(bn_node)
            if add_node is None or type(add_node.layer) is not Add or len(add_node.inputs) != 2 \
                    or add_node.inputs[0] is add_node.inputs[1] or id(add_node) in claimed:
                continue  # when both inputs are conv -> BN, one is the block and the other its shortcut
            claimed.add(id(add_node))
            other = add_node.inputs[1] if add_node.inputs[0] is bn_node.outputs[0] else add_node.inputs[0]
            act_node = only_reader(add_node)
            if act_node is not None and not (act_node.single_input_call
                                             and bn_chain_shape(node.layer, bn_node.layer, act_node.layer)):
                act_node = None
            blocks[id(node)] = (bn_node, add_node, other, act_node)
        return blocks

    def _batch_norm_chains(self, pairs: dict) -> dict[int, tuple]:
        """Conv node id -> (its BatchNormalization node, the activation node after that or None): blocks that
        may run as one convolution in inference (``cnnlab.models._fusion``); whether one does is decided at
        each call."""
        chains = {}
        for node in self._nodes:
            bn_node = pairs.get(id(node))
            if bn_node is None or not node.single_input_call or not bn_node.single_input_call \
                    or not bn_chain_shape(node.layer, bn_node.layer, None):
                continue
            act_node = pairs.get(id(bn_node))
            if act_node is not None and not (act_node.single_input_call
                                             and bn_chain_shape(node.layer, bn_node.layer, act_node.layer)):
                act_node = None
            chains[id(node)] = (bn_node, act_node)
        return chains

    def _sole_readers(self) -> dict[int, Node]:
        """Node id -> the one node of this model that reads its output, when that output is nothing else's.

        Such a pair may run in a cheaper order with the same numbers (``cnnlab.models._fusion``); whether it
        does is decided at each call, from the layers' state (activation, hooks).
        """
        readers: dict[int, list[Node]] = {}
        for node in self._nodes:
            for tensor in node.inputs:
                readers.setdefault(id(tensor), []).append(node)
        exposed = {id(t) for t in self._outputs}
        sole = {}
        for node in self._nodes:
            if len(node.outputs) != 1 or id(node.outputs[0]) in exposed:
                continue
            found = readers.get(id(node.outputs[0]), [])
            if len(found) == 1:
                sole[id(node)] = found[0]
        return sole

    def _free_module_key(self, name: str) -> str:
        """``name``, or a variant of it when it is taken by an attribute of the model (an Input named "inputs").

        torch refuses '.' in submodule keys, which Keras allows in names (``mobilenet_1.00_224``)."""
        key = name.replace(".", "_")
        while hasattr(type(self), key) or key in self.__dict__ or key in self._modules:
            key += "_"
        return key

    @classmethod
    def _default_name(cls) -> str:
        return "functional"

    def _collect_nodes(self) -> list[Node]:
        """Nodes from the inputs to the outputs in an order where each comes after those it reads.

        An explicit stack, not recursion: a chain of 20,000 layers is as deep as it is long.
        """
        order: list[Node] = []
        done: set[int] = set()
        input_ids = {id(t) for t in self._inputs}
        for start in (*self._inputs, *self._outputs):
            stack = [(start, None, False)]  # (tensor, the stack entry that reads it, its parents pushed)
            while stack:
                entry = stack.pop()
                tensor, reader, expanded = entry
                node = tensor.node
                if node is None:
                    raise ConfigError(f"Model(): {tensor!r} is not connected to any input.")
                if expanded:
                    if id(node) not in done:
                        done.add(id(node))
                        order.append(node)
                    continue
                if id(node) in done:
                    continue
                if isinstance(node.layer, InputLayer) and id(tensor) not in input_ids:
                    raise ConfigError(
                        f"Model(): the outputs depend on input '{node.layer.name}' {tensor.shape}, which is not in "
                        f"inputs. Add it to inputs=[...]. Path: {' <- '.join(_reader_path(entry))}"
                    )
                expanded_entry = (tensor, reader, True)
                stack.append(expanded_entry)
                stack.extend((parent, expanded_entry, False) for parent in reversed(node.inputs))
        return order

    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._outputs)

    @property
    def layers(self) -> list[Layer]:
        return self._sublayers()

    def call(self, inputs, training=None):
        values = self._bind_inputs(inputs)
        deferred: dict[int, object] = {}  # pool node id -> the activation its producer left to it
        candidates = getattr(self, "_relu_pool_candidates", {})
        chains, folded = getattr(self, "_bn_chains", {}), set()
        residuals, pending = getattr(self, "_residual_chains", {}), {}
        for node in self._nodes:
            if isinstance(node.layer, InputLayer) or id(node) in folded:
                continue
            if id(node) in pending and self._run_residual(node, pending.pop(id(node)), values, folded):
                continue
            call_args, kwargs = node.fill_in(values)
            args = call_args[0]
            kwargs = {k: v for k, v in kwargs.items() if k != "training" and v is not None}
            block = residuals.get(id(node))
            if block is not None and not kwargs and fold_batch_norm(node.layer, block[0].layer, None, args):
                pending[id(block[1])] = (node, args)  # the convolution runs at the Add, with the shortcut
                folded.add(id(block[0]))
                continue
            chain = chains.get(id(node))
            if chain is not None and not kwargs:
                bn_node, act_node = chain
                post = fold_batch_norm(node.layer, bn_node.layer, act_node.layer if act_node else None, args)
                if post is not None:  # one convolution for conv -> BatchNormalization (-> activation)
                    last = act_node if act_node is not None and post != ("none", []) else bn_node
                    folded.update(id(n) for n in (bn_node, last))
                    values[id(last.outputs[0])] = run_folded(node.layer, bn_node.layer, args, post)
                    continue
            reader = candidates.get(id(node))
            fuse = reader is not None and not kwargs and relu_then_max_pool(node.layer, reader.layer, args)
            try:
                if not node.single_input_call:
                    out = node.layer(*call_args, **kwargs)
                elif fuse:  # same numbers, less memory traffic: see cnnlab.models._fusion
                    state = node.layer.__dict__  # a plain flag, set directly: this runs at every call
                    state["_defer_activation"] = True
                    try:
                        out = node.layer(args)
                    finally:
                        state["_defer_activation"] = False
                    deferred[id(reader)] = node.layer.activation
                else:
                    out = node.layer(args, **kwargs)
            except ShapeError as err:
                raise explain_shape_error(self, node.layer, _shapes(args), err) from err
            if id(node) in deferred:
                out = deferred.pop(id(node))(out)
            for tensor, value in zip(node.outputs, out if isinstance(out, (list, tuple)) else [out]):
                values[id(tensor)] = value
        return pack_like(self._output_structure, [values[id(t)] for t in self._outputs])

    def _run_residual(self, add_node, started, values: dict, folded: set) -> bool:
        """At a residual block's Add: run conv -> BN -> Add (-> ReLU) as one convolution. Returns False after
        storing the BatchNormalization's output when the add must run as a layer (its shortcut broadcasts...)."""
        conv_node, conv_input = started
        bn_node, _, other, act_node = self._residual_chains[id(conv_node)]
        shortcut = values[id(other)]
        post = fold_residual(add_node.layer, act_node.layer if act_node else None, shortcut,
                             conv_node.layer.compute_output_shape(tuple(conv_input.shape)))
        if post is None:
            values[id(bn_node.outputs[0])] = run_folded(conv_node.layer, bn_node.layer, conv_input, ("none", []))
            return False
        out = run_folded(conv_node.layer, bn_node.layer, conv_input, post, residual=shortcut)
        last = act_node if act_node is not None and post != ("none", []) else add_node
        folded.add(id(last))
        values[id(last.outputs[0])] = out
        return True

    def _bind_inputs(self, inputs) -> dict[int, torch.Tensor]:
        expected = len(self._inputs)
        if isinstance(inputs, dict):
            by_name = {t.node.layer.name: t for t in self._inputs}
            missing = [n for n in by_name if n not in inputs]
            if missing:
                raise ShapeError(f"Model '{self.name}' expects inputs named {sorted(by_name)}; missing {missing}. "
                                 f"Received: keys {sorted(inputs)}")
            return {id(by_name[n]): inputs[n] for n in by_name}
        flat = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != expected:
            names = ", ".join(f"'{t.node.layer.name}' {t.shape}" for t in self._inputs)
            raise ShapeError(
                f"Model '{self.name}' expects {expected} input{'s' * (expected > 1)} ({names}); got {len(flat)}. "
                f"Pass {'a list of ' + str(expected) + ' arrays in that order' if expected > 1 else 'one array'}."
            )
        bound = {}
        for tensor, value in zip(self._inputs, flat):
            want = tensor.shape
            if value.dim() != len(want):
                value = adjust_input_rank(value, want)
            if value is None:
                got = tuple(flat[len(bound)].shape)
                raise ShapeError(
                    f"Model '{self.name}' input '{tensor.node.layer.name}' expects shape {want}; got "
                    f"{got}.{_rank_fix(len(want), got)}"
                )
            bound[id(tensor)] = value
        return bound

    def compute_output_shape(self, input_shape):
        shapes = [t.shape for t in self._outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def get_config(self):
        """Keras-style graph config: layers with their inbound calls, input and output layers."""
        own_nodes = {id(n) for n in self._nodes}
        call_index: dict[int, tuple[str, int]] = {}
        for layer in self._operations:
            mine = [n for n in layer._inbound_nodes if id(n) in own_nodes]
            for i, node in enumerate(mine):
                call_index[id(node)] = (layer.name, i)

        def ref(t: KerasTensor):
            name, i = call_index[id(t.node)]
            return [name, i, t.index]

        def keras_tensor(t: KerasTensor) -> dict:
            return {"class_name": KERAS_TENSOR, "config": {"shape": list(t.shape), "dtype": str(t.dtype),
                                                          "keras_history": ref(t)}}

        from cnnlab._serialization import serialize_config_values

        entries = []
        for layer in self._operations:
            calls = [n for n in layer._inbound_nodes if id(n) in own_nodes]
            if isinstance(layer, Operation):
                entries.append(operation_entry(layer, [
                    {"args": [encode_argument(a, keras_tensor) for a in n.call_args], "kwargs": {}} for n in calls]))
                continue
            registered = {"registered_name": name} if (name := registered_name_of(layer)) else {}
            entries.append({
                "class_name": type(layer).__name__, **registered, "name": layer.name,
                "config": serialize_config_values(layer.get_config()),
                "inbound_nodes": [] if isinstance(layer, InputLayer) else [
                    {"args": _structure_refs(list(n.call_args), keras_tensor),
                     "kwargs": {k: _structure_refs(v, keras_tensor) for k, v in n.call_kwargs.items()
                                if v is not None}} for n in calls],
            })
        return {
            "name": self.name, "trainable": self.trainable, "layers": entries,
            "input_layers": _structure_refs(self._input_structure, ref),
            "output_layers": _structure_refs(self._output_structure, ref),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        outputs_of: dict[tuple[str, int], list] = {}
        pending = []  # (layer, saved name, its calls in the file's order)
        # Calls are keyed by the name the config gives the layer: a user layer whose get_config() leaves out
        # "name" comes back under a new automatic name, yet the graph still refers to it by the saved one.
        for entry in config["layers"]:
            layer = operation_from_config(entry) if is_operation_entry(entry) else layer_from_config(entry,
                                                                                                     custom_objects)
            saved_name = entry.get("name") or entry["config"].get("name") or layer.name
            if isinstance(layer, InputLayer):
                outputs_of[(saved_name, 0)] = [layer.output]
            if entry.get("inbound_nodes"):
                pending.append((layer, saved_name, list(entry["inbound_nodes"])))

        def resolve(refs):
            if _is_tensor_entry(refs):
                refs = refs["config"]["keras_history"]
            if _is_ref(refs):
                name, i, j = refs
                return outputs_of[(name, i)][j]
            if isinstance(refs, dict):
                return {k: resolve(v) for k, v in refs.items()}
            return [resolve(r) for r in refs] if isinstance(refs, list) else refs

        def missing(refs):
            """The first ``(layer name, call index)`` that ``refs`` reads and that is not computed yet."""
            if _is_tensor_entry(refs):
                refs = refs["config"]["keras_history"]
            if _is_ref(refs):
                return None if (refs[0], refs[1]) in outputs_of else (refs[0], refs[1])
            values = refs.values() if isinstance(refs, dict) else refs if isinstance(refs, list) else ()
            return next((key for key in map(missing, values) if key is not None), None)

        # Each layer's calls run in the file's order (as Keras does); a layer whose next call reads an output
        # not computed yet waits for that output, so loading is linear in the number of calls, in any order.
        counts: dict[str, int] = {}
        done = [0] * len(pending)
        waiting: dict[tuple[str, int], list[int]] = {}
        todo = list(reversed(range(len(pending))))
        while todo:
            i = todo.pop()
            layer, saved_name, calls = pending[i]
            while done[i] < len(calls):
                args, kwargs = _call_arguments(calls[done[i]])
                if isinstance(layer, Operation):
                    args = decoded_call_arguments(layer, args)
                key = missing(args) or missing(kwargs)
                if key is not None:
                    waiting.setdefault(key, []).append(i)
                    break
                out = layer(*resolve(args), **resolve(kwargs))
                key = (saved_name, counts.get(saved_name, 0))
                counts[saved_name] = key[1] + 1
                outputs_of[key] = out if isinstance(out, list) else [out]
                done[i] += 1
                todo.extend(reversed(waiting.pop(key, [])))
        stuck = next((i for i, (_, _, calls) in enumerate(pending) if done[i] < len(calls)), None)
        if stuck is not None:
            from cnnlab.errors import FileFormatError

            name = pending[stuck][1]
            wanted = next((key for key, readers in waiting.items() if stuck in readers), ("?", 0))
            raise FileFormatError("Model config: the layer graph has calls whose inputs never appear "
                                  f"(a cycle or a missing layer): layer {name!r} reads call {wanted[1]} of "
                                  f"{wanted[0]!r}. The file is corrupt or was edited by hand; re-save the model.")
        return cls(resolve(config["input_layers"]), resolve(config["output_layers"]), name=config.get("name"),
                   trainable=config.get("trainable", True))


def _reader_path(entry) -> list[str]:
    """The layer names from a tensor's layer down to the output that reads it (``_collect_nodes`` entries)."""
    names = []
    while entry is not None:
        names.append(entry[0].node.layer.name)
        entry = entry[1]
    return names


def _keras_layer_order(inputs: list[KerasTensor], outputs: list[KerasTensor], nodes: list[Node]) -> list[Layer]:
    """The layers in Keras's order, which ``get_weights`` and weight files follow.

    Keras walks the graph depth-first from each output, noting the order in which it first meets each
    layer; a node's depth is one more than the deepest node that reads it (outputs are at depth 0), a
    layer's is the deepest of its nodes; layers are then listed from the deepest depth down, ties in
    first-met order. Inputs that no output depends on come last (depth 0, before all others met there).
    """
    first_met: dict[int, int] = {}
    finished: set[int] = set()
    walk: list[Node] = []  # nodes, each after those it reads

    for output in outputs:  # depth-first with an explicit stack: a long chain is as deep as it is long
        stack = [(output.node, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in finished:
                continue
            if expanded:
                finished.add(id(node))
                walk.append(node)
                continue
            first_met.setdefault(id(node.layer), len(first_met))
            stack.append((node, True))
            if not isinstance(node.layer, InputLayer):
                stack.extend((parent.node, False) for parent in reversed(node.inputs))
    in_graph = {id(n) for n in walk}
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    by_id: dict[int, Layer] = {}
    for node in reversed(walk):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        by_id[id(node.layer)] = node.layer
        for parent in node.inputs:
            if id(parent.node) in in_graph:
                node_depth[id(parent.node)] = max(node_depth.get(id(parent.node), 0), depth + 1)
    for tensor in inputs:
        layer = tensor.node.layer
        if id(layer) not in layer_depth:
            layer_depth[id(layer)], first_met[id(layer)], by_id[id(layer)] = 0, -1, layer
    ordered = sorted(layer_depth, key=lambda key: (-layer_depth[key], first_met[key]))
    layers = [by_id[key] for key in ordered]
    # Layers only this model's own calls reach but no output depends on are still part of the model.
    listed = {id(layer) for layer in layers}
    layers += [n.layer for n in nodes if id(n.layer) not in listed]
    return list(dict.fromkeys(layers))


def adjust_input_rank(value: torch.Tensor, want: tuple) -> torch.Tensor | None:
    """Keras's leniency for an input one rank off the model's ``Input``, or None when it does not apply.

    One axis short with a size-1 last axis expected (``(N, 28, 28)`` into ``Input((28, 28, 1))``): add it.
    One axis too many, of size 1, at the end: drop it.
    """
    if value.dim() == len(want) - 1 and want[-1] == 1:
        return value.unsqueeze(-1)
    if value.dim() == len(want) + 1 and value.shape[-1] == 1:
        return value.squeeze(-1)
    return None


KERAS_TENSOR = "__keras_tensor__"  # how Keras 3's configs mark a tensor argument of a layer call


def _structure_refs(structure, ref):
    if isinstance(structure, (list, tuple)):
        return [_structure_refs(s, ref) for s in structure]
    if isinstance(structure, dict):
        raise ConfigError("Saving functional models with dict inputs is not supported yet; use a list of inputs.")
    return ref(structure) if isinstance(structure, KerasTensor) else structure


def _is_ref(value) -> bool:
    return isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)


def _is_tensor_entry(value) -> bool:
    return isinstance(value, dict) and value.get("class_name") == KERAS_TENSOR


def _call_arguments(call: dict) -> tuple[list, dict]:
    """``(args, kwargs)`` of a saved layer call.

    Keras 3's form lists every positional argument, tensors as ``__keras_tensor__`` entries; configs written by
    earlier cnnlab versions hold the one input's ``[layer, node, tensor]`` references directly.
    """
    args, kwargs = call.get("args", []), dict(call.get("kwargs") or {})
    if not any(_is_tensor_entry(leaf) for leaf in _entries(args)):
        return [args], kwargs
    return list(args), kwargs


def _entries(structure) -> list:
    if isinstance(structure, list):
        return [leaf for item in structure for leaf in _entries(item)]
    return [structure]


def _shapes(value):
    if isinstance(value, (list, tuple)):
        return [tuple(v.shape) for v in value]
    return tuple(value.shape) if hasattr(value, "shape") else value
