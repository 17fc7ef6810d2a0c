"""The fused kernels on a CUDA device: Triton kernels against the reference loop, a training
step without host-device synchronisation, and a whole step captured in a CUDA graph.

Skipped without CUDA (CI runs the same Triton source under ``TRITON_INTERPRET=1`` in
``test_triton.py``).
"""

from __future__ import annotations

import pytest
import torch

from spikegrad import functional, kernels, neuron, surrogate

from .harness import check, inputs, lif, node

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]


def _cuda(x: torch.Tensor) -> torch.Tensor:
    return x.cuda()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16], ids=str)
def test_fused_matches_reference_on_cuda(dtype: torch.dtype) -> None:
    assert kernels.route(torch.device("cuda")) == "triton"
    check(
        lambda b: lif(surrogate.ATan())(b).cuda(),
        _cuda(inputs((8, 64, 33), dtype=dtype)),
        exact_outputs=False,
    )
    check(
        lambda b: node(neuron.ParametricLIFNode, surrogate.Sigmoid())(b).cuda(),
        _cuda(inputs(dtype=dtype)),
        exact_outputs=False,
    )


def test_multi_state_neurons_on_cuda() -> None:
    for cls in (neuron.CUBALIFNode, neuron.IzhikevichNode, neuron.ALIFNode):
        check(lambda b, cls=cls: node(cls, surrogate.ATan())(b).cuda(), _cuda(inputs((6, 32, 16))))


def _net() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Linear(64, 128),
        neuron.ParametricLIFNode(surrogate_function=surrogate.ATan(), step_mode="m", backend="fused"),
        torch.nn.Linear(128, 10),
        neuron.LIFNode(surrogate_function=surrogate.ATan(), step_mode="m", backend="fused"),
    ).cuda()


def test_a_training_step_never_synchronises() -> None:
    torch.manual_seed(0)
    net = _net()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    x = torch.rand(16, 32, 64, device="cuda")

    def step() -> None:
        functional.reset_net(net)
        net(x).mean().backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()  # plans and compiles
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        step()
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_a_whole_step_is_captured_in_a_cuda_graph() -> None:
    torch.manual_seed(0)
    net = _net()
    static_x = torch.rand(16, 32, 64, device="cuda")

    def step() -> torch.Tensor:
        functional.reset_net(net)
        out = net(static_x)
        out.sum().backward()
        return out

    # warm up on a side stream (plans, kernels, autograd's buffers), as CUDA graphs require
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            net.zero_grad(set_to_none=False)
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    net.zero_grad(set_to_none=False)
    with torch.cuda.graph(graph):
        static_out = step()
    static_x.copy_(torch.rand_like(static_x))
    net.zero_grad(set_to_none=False)
    graph.replay()
    torch.cuda.synchronize()
    replayed = static_out.clone(), [p.grad.clone() for p in net.parameters()]
    net.zero_grad(set_to_none=False)
    eager = step()
    torch.testing.assert_close(replayed[0], eager)
    for a, p in zip(replayed[1], net.parameters(), strict=True):
        torch.testing.assert_close(a, p.grad)
