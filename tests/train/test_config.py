"""The training config: validation of every field, and the learning-rate schedule across resumes."""

from __future__ import annotations

import itertools
import math

import pytest

from spikegrad.train.config import MAX_SEED, TrainConfig, differences, resumed_config


def test_cosine_schedule_by_hand() -> None:
    config = TrainConfig(lr=0.002, epochs=4)
    expected = [0.002 * 0.5 * (1 + math.cos(math.pi * k / 4)) for k in range(4)]
    assert [config.lr_at(e) for e in (1, 2, 3, 4)] == pytest.approx(expected, rel=1e-12)
    assert config.lr_at(1) == 0.002 and config.lr_at(3) == pytest.approx(0.001)


@pytest.mark.parametrize(("done", "batches"), [(6, 0), (3, 0), (3, 5), (0, 7)])
def test_changing_epochs_on_resume_continues_without_a_jump(done: int, batches: int) -> None:
    saved = TrainConfig(lr=0.002, epochs=6)
    used = [saved.lr_at(e) for e in range(1, done + (batches > 0) + 1)]  # rates the run has used
    config = resumed_config(saved, TrainConfig(lr=0.002, epochs=10), done, batches)
    assert config.epochs == 10
    after = [config.lr_at(e) for e in range(done + (batches > 0), 11)]
    if used:
        assert after[0] == pytest.approx(used[-1], rel=1e-12)  # the epoch in use keeps its rate
    rates = (used or [0.002]) + after[1:]
    assert all(b <= a for a, b in itertools.pairwise(rates))  # never back up
    assert 0 < rates[-1] < rates[0] * 0.1  # and towards 0 at the new end
    # the epochs the run has done keep the rates they were trained with
    assert [config.lr_at(e) for e in range(1, done + 1)] == pytest.approx(used[:done], rel=1e-12)


def test_extending_a_finished_run_continues_from_its_last_rate() -> None:
    saved = TrainConfig(lr=0.002, epochs=30)
    config = resumed_config(saved, TrainConfig(lr=0.002, epochs=40), 30, 0)
    assert config.lr_segments == [{"from_epoch": 30, "lr": saved.lr_at(30), "previous_epochs": 30}]
    assert config.lr_at(31) < saved.lr_at(30)  # the old rule restarted at lr_at(31 of 40), upwards
    twice = resumed_config(config, TrainConfig(lr=0.002, epochs=50), 35, 2)
    assert [s["from_epoch"] for s in twice.lr_segments] == [30, 36]
    assert twice.lr_at(36) == pytest.approx(config.lr_at(36), rel=1e-12)
    again = TrainConfig.from_dict(twice.to_dict())  # survives config.json
    assert again == twice and again.lr_at(42) == twice.lr_at(42)


def test_resume_keeps_every_other_setting() -> None:
    saved = TrainConfig(epochs=6)
    assert resumed_config(saved, TrainConfig(epochs=6), 6, 0) == saved
    assert resumed_config(saved, TrainConfig(epochs=6, data_dir="/moved"), 2, 0).data_dir == "/moved"
    for change, name in [({"lr": 0.01}, "lr"), ({"T": 4}, "T"), ({"seed": 3}, "seed"),
                         ({"surrogate": "sigmoid"}, "surrogate"),
                         ({"surrogate_params": {"alpha": 3.0}}, "surrogate"),
                         ({"detach_reset": True}, "detach_reset"), ({"max_batches": 2}, "max_batches")]:
        with pytest.raises(ValueError, match=rf"^{name} is .* but the run was trained with"):
            resumed_config(saved, TrainConfig(epochs=6, **change), 2, 0)  # type: ignore[arg-type]
    assert differences(saved, TrainConfig(epochs=6, surrogate="ATan", surrogate_params={"alpha": 2.0})) == []
    with pytest.raises(ValueError, match="epochs must be more than the 6 the run has completed"):
        resumed_config(saved, TrainConfig(epochs=4), 6, 0)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("T", 0, "T must be an integer >= 1, got 0"),
    ("T", 2.0, "T must be an integer >= 1, got 2.0"),
    ("epochs", True, "epochs must be an integer >= 1"),
    ("seed", -1, "seed must be an integer in 0..9223372036854775807, got -1"),
    ("seed", MAX_SEED + 1, "seed must be an integer in 0.."),
    ("lr", 1e300, r"lr must be a finite number in \(0, 1\]"),
    ("lr", math.nan, "lr must be"),
    ("lr", "0.1", "lr must be"),
    ("tau", 1.0, "tau must be a finite number > 1"),
    ("neuron", "izhikevich", "neuron must be one of if, lif, plif"),
    ("dataset", "cifar", "dataset must be one of digits, mnist, fashion-mnist"),
    ("backend", "cuda", "backend must be one of fused, reference or None"),
    ("detach_reset", "yes", "detach_reset must be True or False"),
    ("surrogate_params", {"alpha": "2"}, "surrogate_params must map parameter names to numbers"),
    ("surrogate_params", {"alpha": -1.0}, "'alpha' must be a finite number > 0"),
    ("surrogate_params", {"nope": 1.0}, "unknown parameter 'nope'"),
    ("lr_segments", [{"from_epoch": 99, "lr": 0.1, "previous_epochs": 2}], "lr_segments must hold"),
])
def test_every_field_is_validated(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value}).validate()  # type: ignore[arg-type]


def test_from_dict_validates() -> None:
    assert TrainConfig.from_dict({"T": 4, "device": "cpu"}) == TrainConfig(T=4)  # extra keys: ignored
    with pytest.raises(ValueError, match="must be a dict"):
        TrainConfig.from_dict([1])
    with pytest.raises(ValueError, match="epochs must be an integer"):
        TrainConfig.from_dict({"epochs": "two"})
