"""Reading weights safely, calibration inputs, and the streamed data-free analysis."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from advisor.errors import InputError
from advisor.models.meta import on_meta
from advisor.models.spec import ModelSpec
from advisor.sensitivity.calib import RANDOM_WARNING, load_calib, random_calib
from advisor.sensitivity.datafree import analyse_checkpoint
from advisor.sensitivity.schemes import get_scheme, parse_schemes, weight_sqnr_db
from advisor.sensitivity.weights import content_hash, load_weights_into, read_state_dict


def small_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))


def meta_spec(name: str = "net") -> ModelSpec:
    with on_meta():
        module = small_net().eval()
    return ModelSpec(name=name, module=module, args=(torch.empty(1, 3, 8, 8, device="meta"),), input_shape=[1, 3, 8, 8])


@pytest.fixture()
def trained():
    torch.manual_seed(0)
    net = small_net().eval()
    with torch.no_grad():
        net[1].running_mean.uniform_(-1, 1)
        net[1].running_var.uniform_(0.5, 2)
    return net


def test_safetensors_file_loads_into_a_meta_built_model(tmp_path, trained):
    save_file(trained.state_dict(), tmp_path / "w.safetensors")
    model = load_weights_into(meta_spec().module, tmp_path / "w.safetensors")
    x = torch.randn(2, 3, 8, 8)
    assert torch.equal(model(x), trained(x))


def test_sharded_directory_with_index_and_without(tmp_path, trained):
    state = trained.state_dict()
    names = sorted(state)
    first, second = names[: len(names) // 2], names[len(names) // 2:]
    save_file({k: state[k] for k in first}, tmp_path / "model-00001-of-00002.safetensors")
    save_file({k: state[k] for k in second}, tmp_path / "model-00002-of-00002.safetensors")
    assert read_state_dict(tmp_path).keys() == state.keys()
    index = {"weight_map": {k: ("model-00001-of-00002.safetensors" if k in first else "model-00002-of-00002.safetensors")
                            for k in names}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    model = load_weights_into(meta_spec().module, tmp_path)
    x = torch.randn(1, 3, 8, 8)
    assert torch.equal(model(x), trained(x))


def test_state_dict_pt_loads_and_pickled_code_is_refused(tmp_path, trained):
    torch.save(trained.state_dict(), tmp_path / "w.pt")
    model = load_weights_into(meta_spec().module, tmp_path / "w.pt")
    assert torch.equal(model[4].weight, trained[4].weight)
    torch.save(trained, tmp_path / "whole_module.pt")  # a pickled nn.Module: code, not weights
    with pytest.raises(InputError, match="whole_module.pt: cannot read as a weights-only state dict"):
        read_state_dict(tmp_path / "whole_module.pt")
    (tmp_path / "evil.bin").write_bytes(pickle.dumps(print))
    with pytest.raises(InputError, match="evil.bin"):
        read_state_dict(tmp_path / "evil.bin")


def test_mismatched_checkpoint_names_the_tensor(tmp_path, trained):
    state = trained.state_dict()
    state["4.weight"] = torch.zeros(5, 7)
    save_file(state, tmp_path / "bad.safetensors")
    with pytest.raises(InputError, match=r"tensor '4.weight' has shape \[5, 7\]"):
        load_weights_into(meta_spec().module, tmp_path / "bad.safetensors")
    del state["4.weight"]
    save_file(state, tmp_path / "missing.safetensors")
    with pytest.raises(InputError, match="1 missing \\(first: '4.weight'\\)"):
        load_weights_into(meta_spec().module, tmp_path / "missing.safetensors")
    with pytest.raises(InputError, match="no such file"):
        read_state_dict(tmp_path / "nope.safetensors")


def test_content_hash_follows_the_bytes(tmp_path, trained):
    save_file(trained.state_dict(), tmp_path / "a.safetensors")
    first = content_hash(tmp_path / "a.safetensors")
    assert first == content_hash(tmp_path / "a.safetensors") and len(first) == 64
    with torch.no_grad():
        trained[4].weight[0, 0] += 1
    save_file(trained.state_dict(), tmp_path / "a.safetensors")
    assert content_hash(tmp_path / "a.safetensors") != first


def test_calibration_tensor_files_and_images(tmp_path):
    from PIL import Image

    spec = meta_spec()
    samples = np.random.default_rng(0).normal(size=(5, 3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "calib.npy", samples)
    calib = load_calib(tmp_path / "calib.npy", spec, limit=4)
    assert calib.inputs.shape == (4, 3, 8, 8) and torch.equal(calib.inputs, torch.from_numpy(samples[:4]))
    np.save(tmp_path / "wrong.npy", samples[:, :, :4])
    with pytest.raises(InputError, match=r"wrong.npy: samples have shape \[5, 3, 4, 8\]"):
        load_calib(tmp_path / "wrong.npy", spec)
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((16, 12, 3), 60 * i, dtype=np.uint8)).save(folder / f"{i}.png")
    images = load_calib(folder, spec)
    assert images.inputs.shape == (3, 3, 8, 8)
    assert images.inputs[2].flatten().tolist() == pytest.approx([120 / 255] * 192)


def test_text_calibration_uses_a_local_tokenizer(tmp_path):
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    vocab = {"[UNK]": 0, "the": 1, "cat": 2, "sat": 3, "on": 4, "mat": 5}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "calib.txt").write_text("the cat sat on the mat " * 4)
    with on_meta():
        module = nn.Sequential(nn.Embedding(6, 4), nn.Linear(4, 6))
    spec = ModelSpec(name="lm", module=module, args=(torch.zeros(1, 5, dtype=torch.long, device="meta"),),
                     input_shape=[1, 5])
    calib = load_calib(tmp_path / "calib.txt", spec, tokenizer=tmp_path)
    # 24 tokens in windows of 5 + 1: four windows; targets are the inputs shifted by one.
    assert calib.inputs.shape == (4, 5)
    assert calib.inputs[0].tolist() == [1, 2, 3, 4, 1] and calib.targets[0].tolist() == [2, 3, 4, 1, 5]
    with pytest.raises(InputError, match="--tokenizer"):
        load_calib(tmp_path / "calib.txt", spec)
    rand = random_calib(spec, module, 3)
    assert rand.warning == RANDOM_WARNING and rand.inputs.shape == (3, 5) and int(rand.inputs.max()) < 6


def test_data_free_streaming_equals_the_in_memory_figures(tmp_path):
    torch.manual_seed(0)
    tensors = {
        "embed.weight": torch.randn(300, 64),
        "proj.weight": (torch.randn(96, 130) * torch.logspace(-1, 1, 130)).to(torch.bfloat16),
        "norm.weight": torch.ones(64),  # 1-D: not a weight matrix, skipped
    }
    save_file(tensors, tmp_path / "ckpt.safetensors")
    schemes = parse_schemes("int8-tensor,fp8,q4_k_m,w4a16")
    # Blocks of 1000 elements: every tensor is read in several row blocks (and two passes for the
    # per-tensor schemes); the result must equal the whole-tensor computation.
    report = analyse_checkpoint(tmp_path / "ckpt.safetensors", schemes, chunk_elements=1000)
    by_key = {(r.name, r.scheme): r.sqnr_db for r in report.layers}
    assert {name for name, _ in by_key} == {"embed.weight", "proj.weight"}
    for name in ("embed.weight", "proj.weight"):
        for scheme in schemes:
            expected = weight_sqnr_db(tensors[name].float(), scheme)
            assert by_key[(name, scheme.name)] == pytest.approx(expected, abs=1e-3)
    assert report.method == "data-free" and report.schemes[0].output_sqnr_db is None
    total = [s.weight_sqnr_db for s in report.schemes]
    assert all(v is not None for v in total)


def test_data_free_refuses_pickled_state_dicts(tmp_path):
    torch.save({"w": torch.zeros(2, 2)}, tmp_path / "w.pt")
    with pytest.raises(InputError, match="streams safetensors"):
        analyse_checkpoint(tmp_path / "w.pt", [get_scheme("int8")])


def test_hugging_face_llama_directory_with_tied_head_and_rotary_buffers(tmp_path):
    transformers = pytest.importorskip("transformers")
    config = transformers.LlamaConfig(vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True)
    torch.manual_seed(0)
    real = transformers.LlamaForCausalLM(config).eval()
    # As save_pretrained writes it: the tied head is stored once, rotary frequencies not at all.
    save_file({k: v for k, v in real.state_dict().items() if k != "lm_head.weight"}, tmp_path / "model.safetensors")
    with on_meta():
        built = transformers.LlamaForCausalLM(config).eval()
    model = load_weights_into(built, tmp_path)
    tokens = torch.randint(0, 100, (2, 7))
    assert torch.allclose(model(tokens).logits, real(tokens).logits, atol=1e-5)


def test_image_folder_for_a_torchvision_model_uses_its_own_normalisation(tmp_path):
    from PIL import Image

    from advisor.models import load_model
    from advisor.workload import Workload

    spec = load_model(Workload(model="resnet18"))  # on meta: nothing allocated
    for i in range(2):
        Image.fromarray(np.full((300, 260, 3), 128, dtype=np.uint8)).save(tmp_path / f"{i}.jpg", quality=100)
    calib = load_calib(tmp_path, spec)
    assert calib.inputs.shape == (2, 3, 224, 224)
    # A flat grey image stays flat through resize and crop; ImageNet mean/std per channel.
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    for channel in range(3):
        expected = (128 / 255 - mean[channel]) / std[channel]
        assert calib.inputs[:, channel].flatten().tolist() == pytest.approx([expected] * 2 * 224 * 224, abs=0.02)
