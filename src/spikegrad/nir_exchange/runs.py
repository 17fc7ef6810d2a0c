"""Export a trained run folder of ``spikegrad train`` as NIR (the library side of ``spikegrad export``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn


def export_run(
    run_dir: str | Path,
    save_path: str | Path,
    *,
    dt: float = 1e-4,
    checkpoint: str = "last",
    data_dir: str | Path | None = None,
) -> Any:
    """Rebuild the network of a training run and write it as a NIR graph.

    The run is read as ``spikegrad eval`` reads it (:func:`spikegrad.train.evaluation.load_run`):
    the network from the checkpoint's config, the weights from the checkpoint. The exported graph
    is the network for one time step: its spiking layers and the readout layer, an ``Affine``
    node whose outputs are the class scores of that step; ``spikegrad train`` classifies by their
    mean over the ``T`` steps.

    Args:
        run_dir: the run folder.
        save_path: the NIR file to write.
        dt: the time step in seconds (see :func:`~spikegrad.nir_exchange.export_to_nir`).
        checkpoint: ``'last'`` (``checkpoint.pt``, the run's result; default) or ``'best'``
            (``best.pt``).
        data_dir: where the data set is now, if it moved since training (the input's shape is
            read from the data set).

    Returns:
        The ``nir.NIRGraph`` written.

    Raises:
        FileNotFoundError: no run folder, checkpoint or data files.
        ValueError: a damaged checkpoint or one that does not fit its config, or a layer NIR
            cannot represent (the conv net's max pooling, the adaptive LIF neuron: NIR has no
            such nodes).
    """
    from ..train import checkpoint as ckpt
    from ..train import data as D
    from ..train.evaluation import load_run
    from ..train.models import build_model
    from .to_nir import export_to_nir

    config, state, path = load_run(run_dir, checkpoint)
    data = D.load_for_config(config, data_dir)
    model = build_model(
        config.model,
        data.input_shape,
        data.n_classes,
        config.make_surrogate(),
        neuron=config.neuron,
        tau=config.tau,
        detach_reset=config.detach_reset,
        hidden=config.hidden,
        channels=config.channels,
    )
    ckpt.check_model_state(state["model"], model, path)
    model.load_state_dict(state["model"])
    one_step = nn.Sequential(*model.features.children(), model.readout)
    example = torch.zeros(config.T, 1, *data.input_shape)
    return export_to_nir(one_step, example, save_path=save_path, dt=dt)
