"""User surrogates written for SpikingJelly, as its users write them.

:data:`SOURCE` is user code for SpikingJelly 2.0; :func:`load` runs it with only the import
changed (``spikingjelly.activation_based`` -> ``spikegrad``) or unchanged. The spikegrad
version is loaded into this module, so its classes live at module level (pickle finds them).
"""

from __future__ import annotations

from typing import Any

SOURCE = """
import math

import torch
from spikingjelly.activation_based import surrogate


class atan_function(torch.autograd.Function):  # new-style autograd.Function
    @staticmethod
    def forward(x, alpha):
        return (x >= 0).to(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])
        ctx.alpha = inputs[1]

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        half = ctx.alpha / 2
        return half / (1 + (math.pi * half * x) ** 2) * grad_output, None


class UserATan(surrogate.SurrogateFunctionBase):
    def __init__(self, alpha=2.0, spiking=True):
        super().__init__(spiking=spiking, alpha=alpha)

    @staticmethod
    def spiking_function(x, alpha):
        return atan_function.apply(x, alpha)

    @staticmethod
    def primitive_function(x, alpha):
        return (math.pi / 2 * alpha * x).atan_() / math.pi + 0.5


class dspike_function(torch.autograd.Function):  # old-style, as in SpikingJelly's model zoo
    @staticmethod
    def forward(ctx, x, alpha):
        if x.requires_grad:
            ctx.save_for_backward(x)
            ctx.alpha = alpha
        return (x >= 0).to(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        alpha = ctx.alpha
        scale = alpha / (2.0 * math.tanh(alpha / 2.0))
        grad = (grad_output * scale / (alpha * x).cosh_().square_()).masked_fill_(x.abs() > 0.5, 0)
        return grad, None


class UserDSpike(surrogate.SurrogateFunctionBase):  # no primitive: the hand-written backward is g'
    def __init__(self, alpha: float = 3, spiking=True):
        super().__init__(spiking=spiking, alpha=alpha)

    @staticmethod
    def spiking_function(x, alpha):
        return dspike_function.apply(x, alpha)


class UserLegacySigmoid(surrogate.SurrogateFunctionBase):  # SpikingJelly 0.0.0.0.14's base signature
    def __init__(self, alpha=4.0, spiking=True):
        super().__init__(alpha, spiking)

    @staticmethod
    def spiking_function(x, alpha):
        return surrogate.sigmoid.apply(x, alpha)

    @staticmethod
    def primitive_function(x, alpha):
        return (x * alpha).sigmoid()


class UserFourier(surrogate.SurrogateFunctionBase):  # an integer parameter
    def __init__(self, n: int = 3, width=1.0, spiking=True):
        super().__init__(spiking=spiking, n=n, width=width)

    @staticmethod
    def spiking_function(x, n: int, width):
        return UserFourier.step.apply(x, n, width)

    @staticmethod
    def primitive_function(x, n: int, width):
        terms = [torch.sin((2 * i - 1) * x / width) / (2 * i - 1) for i in range(1, n)]
        return 0.5 + 2 / math.pi * sum(terms)

    class step(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, n, width):
            ctx.save_for_backward(x)
            ctx.n, ctx.width = n, width
            return (x >= 0).to(x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            terms = [torch.cos((2 * i - 1) * x / ctx.width) for i in range(1, ctx.n)]
            return grad_output * 2 / (math.pi * ctx.width) * sum(terms), None, None
"""


def load(library: str, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run :data:`SOURCE` against ``'spikingjelly'`` or ``'spikegrad'`` and return its names."""
    source = (
        SOURCE if library == "spikingjelly" else SOURCE.replace("spikingjelly.activation_based", "spikegrad")
    )
    namespace = {"__name__": f"sj_style_{library}"} if namespace is None else namespace
    exec(compile(source, f"<user surrogates for {library}>", "exec"), namespace)
    return namespace


load("spikegrad", globals())
