"""Export a trained run folder of ``spikegrad train`` as NIR (the library side of ``spikegrad export``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn


def export_run(
    run_dir: str | Path,
    save_path: str | Path,
    *,
    dt: float = 1e-4,
    checkpoint: str | Path | None = None,
    data_dir: str | Path | None = None,
) -> Any:
    """Rebuild the network of a training run and write it as a NIR graph.

    The network comes from the run's ``config.json`` and the weights from its checkpoint. The
    exported graph is the network for one time step: its spiking layers and the readout layer,
    an ``Affine`` node whose outputs are the class scores of that step; ``spikegrad train``
    classifies by their mean over the ``T`` steps.

    Args:
        run_dir: the run folder (``config.json`` and ``checkpoint.pt``).
        save_path: the NIR file to write.
        dt: the time step in seconds (see :func:`~spikegrad.nir_exchange.export_to_nir`).
        checkpoint: the weights to export (default ``run_dir/checkpoint.pt``, the last epoch).
        data_dir: where the data set is now, if it moved since training (the input's shape is
            read from the data set).

    Returns:
        The ``nir.NIRGraph`` written.

    Raises:
        FileNotFoundError: no ``config.json`` or checkpoint.
        ValueError: a config or checkpoint that does not rebuild the network, or a layer NIR
            cannot represent (the conv net's max pooling: NIR has no max-pooling node).
    """
    from ..train import TrainConfig
    from ..train import checkpoint as ckpt
    from ..train.data import load_dataset
    from ..train.models import build_model
    from .to_nir import export_to_nir

    run_dir = Path(run_dir)
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"no training run in {run_dir}: config.json is missing")
    try:
        values = json.loads(config_path.read_text(encoding="utf-8"))
        config = TrainConfig.from_dict(values)
        surrogate = config.make_surrogate()
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{config_path} does not describe a network spikegrad can rebuild: {exc}") from None
    state = ckpt.load(Path(checkpoint) if checkpoint is not None else run_dir / ckpt.CHECKPOINT)
    data = load_dataset(config.dataset, data_dir if data_dir is not None else config.data_dir)
    model = build_model(
        config.model,
        data.input_shape,
        data.n_classes,
        surrogate,
        neuron=config.neuron,
        tau=config.tau,
        detach_reset=config.detach_reset,
        hidden=config.hidden,
        channels=config.channels,
    )
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise ValueError(f"the checkpoint's weights do not fit the network of {config_path}: {exc}") from None
    one_step = nn.Sequential(*model.features.children(), model.readout)
    example = torch.zeros(config.T, 1, *data.input_shape)
    return export_to_nir(one_step, example, save_path=save_path, dt=dt)
