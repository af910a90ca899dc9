"""timm models as a model source: built on meta by name, default input from the pretrained config.

Independent expectations: timm's resnet50 is the same network as torchvision's (25,557,032
parameters, torchvision's published figure; the zoo profile gives the MACs), and a model
trained at 384x384 is profiled at 384x384.
"""

from __future__ import annotations

import pytest

pytest.importorskip("timm")

from advisor.errors import InputError  # noqa: E402
from advisor.models.sources import LoadPolicy  # noqa: E402
from advisor.models.timm_source import TimmSource  # noqa: E402
from advisor.workload import Workload  # noqa: E402

RESNET50_PARAMS = 25_557_032  # torchvision ResNet50_Weights.IMAGENET1K_V1 "num_params"


def _profile(spec: str, **workload):
    from advisor.profiling.counter import count

    return count(TimmSource().build(Workload(model=spec, **workload), LoadPolicy()))


def test_timm_resnet50_equals_the_zoo_resnet50():
    from advisor.models.zoo import load_zoo_model
    from advisor.profiling.counter import count

    timm_profile = _profile("timm:resnet50")
    zoo = count(load_zoo_model("resnet50", input_shape=None, batch=None, phase=None, seq_len=None, context=None))
    assert timm_profile.input_shape == [1, 3, 224, 224]
    assert timm_profile.params == zoo.params == RESNET50_PARAMS
    assert timm_profile.macs == pytest.approx(zoo.macs, rel=0.01)
    assert not timm_profile.unsupported_ops


def test_default_input_from_the_pretrained_config_and_batch():
    import timm

    spec = TimmSource().build(Workload(model="timm:vit_base_patch16_384", batch=2), LoadPolicy())
    assert timm.get_pretrained_cfg("vit_base_patch16_384").input_size == (3, 384, 384)
    assert spec.input_shape == [2, 3, 384, 384]
    # ViT-B/16 at 384: (384/16)^2 = 576 patches + the class token
    assert spec.module.patch_embed.num_patches == 576


def test_timm_errors_are_one_line():
    with pytest.raises(InputError, match="unknown timm model 'resnet5O'; did you mean resnet50"):
        TimmSource().build(Workload(model="timm:resnet5O"), LoadPolicy())
    with pytest.raises(InputError, match="apply to language models"):
        TimmSource().build(Workload(model="timm:resnet18", phase="decode"), LoadPolicy())
    with pytest.raises(InputError, match="expected Bx3xHxW"):
        TimmSource().build(Workload(model="timm:resnet18", input_shape="1x1x224x224"), LoadPolicy())
