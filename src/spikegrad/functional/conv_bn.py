"""Fold batch norms into the convolutions before them, for inference.

Example:
    >>> import torch
    >>> from spikegrad import functional, layer, neuron
    >>> net = torch.nn.Sequential(layer.Conv2d(1, 4, 3), layer.BatchNorm2d(4), neuron.IFNode())
    >>> fused = functional.fuse_conv_bn_eval_modules(net.eval())
    >>> [type(m).__name__ for m in fused.children()]
    ['Conv2d', 'IFNode']
"""

from __future__ import annotations

from collections import defaultdict
from typing import cast

import torch
from torch import fx, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ..base import StepModule

__all__ = ["fuse_conv_bn_eval_modules"]

#: (convolution, batch norm) pairs that fold into one convolution; spikegrad's step-mode aware
#: layers subclass these and keep their class and ``step_mode`` when fused.
_PAIRS = ((nn.Conv1d, nn.BatchNorm1d), (nn.Conv2d, nn.BatchNorm2d), (nn.Conv3d, nn.BatchNorm3d))


class _Tracer(fx.Tracer):
    """Keeps step-mode aware modules (layers, neurons, containers) whole: their forward
    depends on ``step_mode`` and state, which tracing would freeze."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return isinstance(m, StepModule) or super().is_leaf_module(m, module_qualified_name)


def fuse_conv_bn_eval_modules(net: nn.Module) -> fx.GraphModule:
    r"""Fold every ``BatchNorm`` that directly follows a convolution into it, for inference.

    In eval mode a batch norm is an affine map per channel,
    ``y = gamma (x - mean) / sqrt(var + eps) + beta``, so a convolution followed by it is
    one convolution with rescaled weights and a new bias. The network is traced with
    ``torch.fx`` (step-mode aware modules stay whole), each ``Conv{1,2,3}d`` whose only
    consumer is a ``BatchNorm{1,2,3}d`` of the same dimension is replaced by the fused
    convolution (same class and ``step_mode``, so spikegrad's multi-step layers stay
    multi-step) and the batch norm is removed. A convolution whose output also feeds
    something else, or that different batch norms follow at different calls, is left as it
    is. ``net`` itself is not modified.

    Args:
        net: a network in eval mode, traceable by ``torch.fx``.

    Returns:
        The fused network as an ``fx.GraphModule``; its outputs equal ``net``'s up to rounding.

    Raises:
        TypeError: ``net`` is not a module.
        ValueError: ``net`` is in training mode, or a batch norm to fuse has no running
            statistics (``track_running_stats=False``).
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"fuse_conv_bn_eval_modules expects a module, got {type(net).__name__}")
    if net.training:
        raise ValueError(
            "fuse_conv_bn_eval_modules: call net.eval() first (training-mode batch norm cannot be folded)"
        )
    tracer = _Tracer()
    graph = tracer.trace(net)
    fused = fx.GraphModule(tracer.root, graph)
    modules = dict(fused.named_modules())

    calls: dict[str, list[fx.Node]] = defaultdict(list)
    for node in fused.graph.nodes:
        if node.op == "call_module":
            calls[node.target].append(node)

    for conv_name, conv_nodes in calls.items():
        bn_nodes = [_batch_norm_after(node, modules) for node in conv_nodes]
        if any(bn is None for bn in bn_nodes) or len({bn.target for bn in bn_nodes}) != 1:  # type: ignore[union-attr]
            continue
        bn_name = str(bn_nodes[0].target)  # type: ignore[union-attr]
        if len(calls[bn_name]) != len(bn_nodes):
            continue  # the batch norm is also used elsewhere
        bn = modules[bn_name]
        if not bn.track_running_stats or bn.running_mean is None or bn.running_var is None:
            raise ValueError(
                f"fuse_conv_bn_eval_modules: cannot fold {bn_name!r} into {conv_name!r}: the batch norm "
                "keeps no running statistics (track_running_stats=False)"
            )
        _replace_module(fused, conv_name, fuse_conv_bn_eval(modules[conv_name], bn))  # type: ignore[arg-type]
        for bn_node in cast(list[fx.Node], bn_nodes):
            bn_node.replace_all_uses_with(cast(fx.Node, bn_node.args[0]))
            fused.graph.erase_node(bn_node)

    fused.graph.lint()
    fused.delete_all_unused_submodules()
    fused.recompile()
    return fused


def _batch_norm_after(conv_node: fx.Node, modules: dict[str, nn.Module]) -> fx.Node | None:
    """The batch-norm call that is the only consumer of ``conv_node``, if it matches the conv."""
    conv = modules[str(conv_node.target)]
    if len(conv_node.users) != 1:
        return None
    (user,) = conv_node.users
    if user.op != "call_module" or user.args[:1] != (conv_node,) or len(user.args) != 1 or user.kwargs:
        return None
    bn = modules[str(user.target)]
    if any(isinstance(conv, conv_type) and isinstance(bn, bn_type) for conv_type, bn_type in _PAIRS):
        return user
    return None


def _replace_module(root: nn.Module, name: str, module: torch.nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, module)
