"""Every constructor of SpikingJelly 2.0's model zoo: its name, its signature, and at full size
(on the meta device: no memory, no compute) the same ``state_dict`` keys and shapes, loaded
strictly both ways."""

from __future__ import annotations

import importlib
import inspect

import pytest
import torch

from spikegrad import model, neuron

from .helpers import sj_model, sj_neuron

FAMILIES = (
    "spiking_resnet",
    "sew_resnet",
    "spiking_vgg",
    "parametric_lif_net",
    "spikformer",
    "ms_resnet",
    "spike_driven_transformer",
)
#: SpikingJelly's distributed-training configurations (tensor/pipeline parallel builders).
NOT_PROVIDED = {"SEWResNet34Config", "SpikformerConfig", "SpikformerCIFAR10Config"}
#: Families without a default neuron (SpikingJelly's default, None, fails on the first neuron).
NEEDS_NEURON = {"spiking_resnet", "sew_resnet", "spiking_vgg", "parametric_lif_net"}


def public_names(family: str) -> list[str]:
    return [name for name in sj_model(family).__all__ if name not in NOT_PROVIDED]


CONSTRUCTORS = [
    (family, name)
    for family in FAMILIES
    for name in public_names(family)
    if not name[0].isupper() or family == "parametric_lif_net"
]


def signature(obj: object) -> list[tuple[str, object, object]]:
    target = obj.__init__ if inspect.isclass(obj) else obj  # type: ignore[misc]
    params = list(inspect.signature(target).parameters.values())
    return [(p.name, p.kind, p.default) for p in params if p.name != "self"]


@pytest.mark.parametrize("family", FAMILIES)
def test_every_name_with_spikingjellys_signature(family):
    ours_module = getattr(model, family)
    for name in public_names(family):
        assert name in ours_module.__all__, name
        ours, theirs = getattr(ours_module, name), getattr(sj_model(family), name)
        assert signature(ours) == signature(theirs), name
        assert inspect.getdoc(ours), name


def test_the_package_exports_what_spikingjellys_does():
    sj_package = importlib.import_module("spikingjelly.activation_based.model")
    in_scope = {
        name
        for name in sj_package.__all__
        if any(hasattr(getattr(model, family), name) for family in FAMILIES)
    }
    assert in_scope == {
        "MSResNet", "MaxResNet", "SpikeDrivenTransformer", "Spikformer", "max_resnet18", "ms_resnet18",
        "ms_resnet34", "sdt_8_384", "spikformer_cifar10", "spikformer_s", "spikformer_ti",
    }  # fmt: skip
    assert in_scope <= set(model.__all__)
    assert all(getattr(model, name) is not None for name in in_scope)


def build(family: str, name: str, ours: bool) -> torch.nn.Module:
    """The constructor at its full size, on the meta device."""
    zoo, neurons = (getattr(model, family), neuron) if ours else (sj_model(family), sj_neuron)
    kwargs = {}
    if family in NEEDS_NEURON:  # the PLIF networks with the paper's neuron: a parameter each
        kwargs["spiking_neuron"] = (
            neurons.ParametricLIFNode if family == "parametric_lif_net" else neurons.IFNode
        )
    if family == "sew_resnet":
        kwargs["cnf"] = "ADD"
    with torch.device("meta"):
        return getattr(zoo, name)(**kwargs)


@pytest.fixture
def skip_initialisation(monkeypatch):
    """Weight initialisation does nothing on the meta device, but runs slowly there: skip it."""
    for name in ("kaiming_normal_", "kaiming_uniform_", "normal_", "uniform_", "trunc_normal_", "constant_"):
        monkeypatch.setattr(torch.nn.init, name, lambda tensor, *args, **kwargs: tensor)


@pytest.mark.usefixtures("skip_initialisation")
@pytest.mark.parametrize(("family", "name"), CONSTRUCTORS, ids=[name for _, name in CONSTRUCTORS])
def test_full_size_state_dict(family, name):
    ours, theirs = build(family, name, ours=True), build(family, name, ours=False)
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    assert [v.shape for v in ours_sd.values()] == [v.shape for v in theirs_sd.values()]
    ours.load_state_dict(theirs_sd, strict=True, assign=True)
    theirs.load_state_dict(ours.state_dict(), strict=True, assign=True)


@pytest.mark.parametrize(
    ("family", "name"),
    [
        (family, name)
        for family, name in CONSTRUCTORS
        if family in ("spiking_resnet", "sew_resnet", "spiking_vgg")
    ],
)
def test_pretrained_is_refused_with_where_the_weights_are(family, name):
    module = getattr(model, family)
    arch = name.removeprefix("spiking_").removeprefix("sew_")
    kwargs = {"cnf": "ADD"} if family == "sew_resnet" else {}
    with pytest.raises(ValueError, match="never downloads") as error:
        getattr(module, name)(pretrained=True, progress=False, spiking_neuron=neuron.IFNode, **kwargs)
    assert module.model_urls[arch] in str(error.value) and "load_state_dict" in str(error.value)
    assert module.model_urls[arch] == sj_model(family).model_urls[arch]


@pytest.mark.parametrize(("family", "name"), [c for c in CONSTRUCTORS if c[0] in NEEDS_NEURON])
def test_a_missing_neuron_is_a_clear_error(family, name):
    kwargs = {"cnf": "ADD"} if family == "sew_resnet" else {}
    with pytest.raises(TypeError, match=r"needs spiking_neuron, the neuron class.*got None"):
        getattr(getattr(model, family), name)(**kwargs)


@pytest.mark.usefixtures("skip_initialisation")
def test_constructors_fix_their_architecture():
    with torch.device("meta"):
        resnext = model.sew_resnet.sew_resnext50_32x4d(cnf="ADD", spiking_neuron=neuron.IFNode, groups=4)
        wide = model.spiking_resnet.spiking_wide_resnet50_2(spiking_neuron=neuron.IFNode)
        vgg = model.spiking_vgg.spiking_vgg11_bn(
            spiking_neuron=neuron.IFNode, norm_layer=torch.nn.BatchNorm2d
        )
    assert (resnext.groups, resnext.base_width) == (32, 4)  # as in SpikingJelly, the architecture wins
    assert wide.base_width == 128 and len(wide.layer3) == 6
    assert isinstance(vgg.features[1], torch.nn.BatchNorm2d)


def test_models_survive_deepcopy_and_pickling():
    import copy
    import io

    nets = [
        model.parametric_lif_net.MNISTNet(2, neuron.ParametricLIFNode),
        model.spikformer.Spikformer(T=2, img_size_h=16, img_size_w=16, patch_size=4, embed_dims=8),
        model.ms_resnet.MSResNet(T=2, layers=(1, 1, 1), base_channels=4),
        model.spike_driven_transformer.SpikeDrivenTransformer(T=2, embed_dims=8, num_heads=2, depths=1),
        model.sew_resnet.BasicBlock(4, 4, cnf="IAND", spiking_neuron=neuron.LIFNode, tau=3.0),
    ]
    for net in nets:
        buffer = io.BytesIO()
        torch.save(net, buffer)
        buffer.seek(0)
        for twin in (copy.deepcopy(net), torch.load(buffer, weights_only=False)):
            assert type(twin) is type(net) and repr(twin) == repr(net)
            assert twin.state_dict().keys() == net.state_dict().keys()
