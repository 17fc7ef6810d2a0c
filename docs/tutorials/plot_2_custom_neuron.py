"""
A neuron of your own
====================

A spikegrad neuron is its definition: parameters, state, and one time step written as plain
torch code. The SpikingJelly way works as it is: subclass ``neuron.BaseNode`` and define
``neuronal_charge``, which updates ``self.v`` from the input. Firing, reset, both step modes,
and fused forward and backward kernels come from that one method.
"""

# %%
# The definition
# --------------
# A leaky quadratic integrate-and-fire neuron: a leak towards 0 plus a quadratic term that
# makes a neuron close to its threshold charge faster.
import matplotlib.pyplot as plt
import torch

from spikegrad import neuron, surrogate


class LeakyQuadraticNode(neuron.BaseNode):
    def __init__(self, decay: float = 0.8, gain: float = 0.3, **kwargs) -> None:
        super().__init__(**kwargs)
        self.decay = decay  # a float: a runtime scalar of the fused kernels
        self.gain = gain

    def neuronal_charge(self, x: torch.Tensor) -> None:
        self.v = self.decay * self.v + self.gain * self.v * self.v + x


node = LeakyQuadraticNode(step_mode="m", store_v_seq=True, surrogate_function=surrogate.ATan())
print(node)

# %%
# Membrane potential
# ------------------
# Drive it with a constant current and watch ``v_seq``, the potential after every step.
current = torch.full((40, 1), 0.25)
spikes = node(current)
fig, ax = plt.subplots(figsize=(7, 3))
ax.plot(node.v_seq[:, 0], label="v (after reset)")
ax.plot(torch.nonzero(spikes[:, 0]).flatten(), torch.ones(int(spikes.sum())), "v", label="spike")
ax.axhline(node.v_threshold, linestyle="--", color="C3", label="v_threshold")
ax.set_xlabel("time step")
ax.legend()

# %%
# Fused kernels and the reference loop
# ------------------------------------
# With the default backend the step is traced, surrogate included, into one C++ loop over
# time per direction on the CPU (Triton on a GPU). ``backend='reference'`` runs the step in a
# Python loop: the oracle. Spikes are equal and gradients agree.
fused = LeakyQuadraticNode(step_mode="m")
loop = LeakyQuadraticNode(step_mode="m", backend="reference")
x_seq = torch.rand(20, 4, 16, requires_grad=True)
out_fused = fused(x_seq)
(grad_fused,) = torch.autograd.grad(out_fused.sum(), x_seq)
out_loop = loop(x_seq)
(grad_loop,) = torch.autograd.grad(out_loop.sum(), x_seq)
print("spikes equal:", torch.equal(out_fused, out_loop))
print("largest gradient difference:", (grad_fused - grad_loop).abs().max().item())

# %%
# Learnable parameters
# --------------------
# Make the leak learnable with an ``nn.Parameter``, created in ``setup`` (called by the
# constructor). Written as ``sigmoid(w)`` it stays in (0, 1) whatever the optimiser does. The
# parameter becomes a tensor input of the kernels, and its gradient comes out of the same
# traced backward.


class LearnedLeakNode(neuron.BaseNode):
    def setup(self) -> None:
        self.w = torch.nn.Parameter(torch.tensor(1.4))  # sigmoid(1.4) = 0.80

    def neuronal_charge(self, x: torch.Tensor) -> None:
        self.v = self.w.sigmoid() * self.v + x


learned = LearnedLeakNode(step_mode="m")
learned(torch.rand(10, 2, 3)).sum().backward()
print("d loss / d w =", learned.w.grad.item())
