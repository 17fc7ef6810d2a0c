"""The memory estimate: exact parameter counts, and a refusal with numbers instead of an allocator error."""

from __future__ import annotations

import pytest
import torch

from spikegrad import surrogate
from spikegrad.train import memory
from spikegrad.train.config import TrainConfig
from spikegrad.train.loop import fit
from spikegrad.train.models import build_model, count_parameters


@pytest.mark.parametrize("model", ["mlp", "conv"])
@pytest.mark.parametrize("neuron", ["lif", "plif"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 13, 9)])
def test_parameter_count_is_exact(model: str, neuron: str, shape: tuple[int, int, int]) -> None:
    config = TrainConfig(model=model, neuron=neuron, hidden=7, channels=3)
    net = build_model(model, shape, 5, surrogate.ATan(), neuron=neuron, hidden=7, channels=3)
    assert memory.parameter_count(config, shape, 5) == count_parameters(net)


def test_estimate_scales_with_the_flags() -> None:
    config = TrainConfig(T=4, hidden=100, batch_size=10)
    base = memory.estimate(config, (1, 8, 8), 10, n_train=1000, n_test=10)
    assert base.per_sample_step == 64 + 3 * 100 + 10
    assert base.batch == 4 * 4 * 10 * base.per_sample_step * 2  # float32, T, batch, values, and gradients
    assert base.parameters == 4 * 4 * (64 * 100 + 100 + 100 * 10 + 10)  # weights, grads, Adam's two moments
    evaluation = memory.estimate(config, (1, 8, 8), 10, n_train=1000)
    assert evaluation.batch == 4 * 4 * 256 * base.per_sample_step  # 256 test images at once, no gradients
    longer = memory.estimate(TrainConfig(T=40, hidden=100, batch_size=10), (1, 8, 8), 10, n_train=1000,
                             n_test=10)
    assert longer.batch == 10 * base.batch and longer.parameters == base.parameters
    # a batch larger than the data set counts as the data set
    huge = memory.estimate(TrainConfig(T=4, hidden=100, batch_size=10**12), (1, 8, 8), 10, n_train=50,
                           n_test=20)
    assert huge.batch == 4 * 4 * 50 * huge.per_sample_step * 2


def test_available_memory_is_reported() -> None:
    have = memory.available(torch.device("cpu"))
    assert have is None or have > 0
    assert memory.human(512) == "512 B" and memory.human(1.5 * 2**20) == "1.5 MiB"
    assert memory.human(27.1 * 2**40) == "27.1 TiB"


@pytest.mark.parametrize(("change", "part"), [({"T": 100_000_000}, "T=100000000"),
                                              ({"hidden": 99_999_999_999}, "parameters and Adam state")])
def test_a_run_too_large_is_refused_before_it_allocates(digits, change: dict[str, int], part: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "available", lambda device: 64 * 2**30)  # a 64 GiB machine, whatever this is
    config = TrainConfig(epochs=1, **change)
    with pytest.raises(ValueError, match=rf"this run needs about [\d.]+ [TPG]iB of memory \(.*{part}.*\), "
                                         r"but cpu has 64.0 GiB available; lower T, hidden or batch size"):
        fit(config, data=digits)
