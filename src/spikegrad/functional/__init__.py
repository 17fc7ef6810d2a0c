"""Functions over whole networks and sequences, SpikingJelly's ``functional`` names.

* network state and mode (:mod:`.network`): :func:`reset_net`, :func:`detach_net`,
  :func:`set_step_mode`;
* running layers over time (:mod:`.forward`): :func:`multi_step_forward`,
  :func:`seq_to_ann_forward`, :func:`chunk_multi_step_forward` and the time-last variants;
* losses (:mod:`.loss`): :func:`temporal_efficient_training_cross_entropy`,
  :func:`spike_similar_loss`, :func:`kernel_dot_product`;
* neuron steps with explicit state (:mod:`.neuron_steps`): :func:`lif_charge`,
  :func:`voltage_reset`, :func:`if_step` ... :func:`plif_multi_step`;
* layer steps with explicit state (:mod:`.layer_steps`): :func:`delay_step`,
  :func:`synapse_filter_step`, :func:`neunorm_step`;
* helpers (:mod:`.misc`): :func:`first_spike_index`, :func:`delay`, :func:`redundant_one_hot`,
  :func:`kaiming_normal_conv_linear_weight`, :func:`set_threshold_margin`;
* inference (:mod:`.conv_bn`): :func:`fuse_conv_bn_eval_modules`.

Example:
    >>> import torch
    >>> from spikegrad import functional, layer, neuron
    >>> net = torch.nn.Sequential(layer.Linear(4, 3), neuron.LIFNode())
    >>> functional.set_step_mode(net, "m")
    >>> net(torch.rand(8, 2, 4)).shape  # [T, N, features]
    torch.Size([8, 2, 3])
    >>> functional.reset_net(net)  # before the next sequence
"""

from __future__ import annotations

from .conv_bn import fuse_conv_bn_eval_modules
from .forward import (
    Stage,
    Stages,
    chunk_multi_step_forward,
    merged_time,
    multi_step_forward,
    seq_to_ann_forward,
    step_by_step,
    t_last_multi_step_forward,
    t_last_seq_to_ann_forward,
)
from .layer_steps import delay_step, neunorm_step, synapse_filter_step
from .loss import kernel_dot_product, spike_similar_loss, temporal_efficient_training_cross_entropy
from .misc import (
    delay,
    first_spike_index,
    kaiming_normal_conv_linear_weight,
    redundant_one_hot,
    set_threshold_margin,
)
from .network import detach_net, reset_net, set_step_mode
from .neuron_steps import (
    if_multi_step,
    if_step,
    lif_charge,
    lif_multi_step,
    lif_step,
    plif_multi_step,
    plif_step,
    voltage_reset,
)

__all__ = [
    "Stage",
    "Stages",
    "chunk_multi_step_forward",
    "delay",
    "delay_step",
    "detach_net",
    "first_spike_index",
    "fuse_conv_bn_eval_modules",
    "if_multi_step",
    "if_step",
    "kaiming_normal_conv_linear_weight",
    "kernel_dot_product",
    "lif_charge",
    "lif_multi_step",
    "lif_step",
    "merged_time",
    "multi_step_forward",
    "neunorm_step",
    "plif_multi_step",
    "plif_step",
    "redundant_one_hot",
    "reset_net",
    "seq_to_ann_forward",
    "set_step_mode",
    "set_threshold_margin",
    "spike_similar_loss",
    "step_by_step",
    "synapse_filter_step",
    "t_last_multi_step_forward",
    "t_last_seq_to_ann_forward",
    "temporal_efficient_training_cross_entropy",
    "voltage_reset",
]
