"""
A surrogate gradient of your own
================================

A surrogate is one formula: its derivative ``g'(x)`` (what the backward pass multiplies by),
optionally its primitive ``g(x)``. spikegrad turns that one formula into everything a
built-in shape has: a module and a functional form, validated parameters, ``peak`` and
``area``, plots, and fused neuron kernels on the CPU and the GPU.
"""

# %%
# From a derivative
# -----------------
# ``from_derivative`` takes a function of ``x`` and named parameters with defaults. Here a
# tent: height 1 at the threshold, falling linearly to 0 at ``|x| = width``.
import matplotlib.pyplot as plt
import torch

from spikegrad import neuron, surrogate


@surrogate.from_derivative
def Tent(x: torch.Tensor, width: float = 1.0) -> torch.Tensor:
    """g'(x) = max(0, 1 - |x| / width): a triangle of height 1 and area ``width``."""
    return torch.clamp(1 - x.abs() / width, min=0)


tent = Tent(width=0.5)
print(tent, "peak", round(tent.peak, 4), "area", round(tent.area, 4))

x = torch.tensor([-0.5, -0.25, 0.0, 0.25], requires_grad=True)
spikes = tent(x)  # the forward is the exact spike: H(x), with H(0) = 1
spikes.sum().backward()
print("spikes", spikes.tolist(), "gradient", x.grad.tolist())

# %%
# Its functional form takes the parameters positionally, like every built-in:
print(Tent.function.apply(x, 0.5))

# %%
# The figure
# ----------
# ``surrogate.plot`` draws the spike, the primitive (here integrated numerically from the
# derivative) and the gradient, into a new figure or into the axes it is given.
fig, ax = plt.subplots(figsize=(6.4, 4.0))
surrogate.plot(tent, ax=ax)

# %%
# From a primitive
# ----------------
# Give only the smooth step instead, and autograd provides the derivative.


@surrogate.from_primitive
def TanhStep(x: torch.Tensor, beta: float = 2.0) -> torch.Tensor:
    return (torch.tanh(beta * x) + 1) / 2


print(TanhStep(), "peak", round(TanhStep().peak, 4))
fig, ax = plt.subplots(figsize=(6.4, 4.0))
surrogate.plot(TanhStep(beta=4.0), ax=ax)

# %%
# In a neuron
# -----------
# A custom surrogate plugs into any neuron as ``surrogate_function``. In multi-step mode the
# neuron runs one fused kernel over all time steps, generated from the tent's definition; the
# reference loop computes the same spikes and gradients.
lif = neuron.LIFNode(tau=2.0, surrogate_function=Tent(width=0.5), step_mode="m")
loop = neuron.LIFNode(tau=2.0, surrogate_function=Tent(width=0.5), step_mode="m", backend="reference")
x_seq = (2 * torch.rand(16, 8, 32)).requires_grad_()  # [T, N, features]
fused_out = lif(x_seq)
(fused_grad,) = torch.autograd.grad(fused_out.sum(), x_seq)
loop_out = loop(x_seq)
(loop_grad,) = torch.autograd.grad(loop_out.sum(), x_seq)
same_gradient = torch.allclose(fused_grad, loop_grad)
print("same spikes:", torch.equal(fused_out, loop_out), " same gradient:", same_gradient)
