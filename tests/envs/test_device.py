"""The one device resolver: auto, cpu, cuda, and a clear error for CUDA that torch cannot see."""

from __future__ import annotations

import pytest
import torch

from advrec_gym import TransformerEncoder


@pytest.fixture
def no_cuda(monkeypatch):
    """Torch sees no GPU (as on a CPU-only build), whatever this machine has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_auto_is_cpu_without_a_gpu_and_cpu_is_cpu(no_cuda):
    from advrec_gym.device import resolve_device

    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda", 1)])
def test_cuda_without_a_gpu_is_an_error_that_says_so(no_cuda, device):
    from advrec_gym.device import resolve_device

    with pytest.raises(ValueError, match=r"device='cuda.*' asks for a CUDA GPU, but torch sees none.*'auto'.*'cpu'"):
        resolve_device(device)


def test_a_gpu_index_beyond_the_machines_is_an_error(monkeypatch):
    from advrec_gym.device import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(ValueError, match=r"names GPU 5, but torch sees 2 \(cuda:0 to cuda:1\)"):
        resolve_device("cuda:5")


@pytest.mark.parametrize(("value", "hint"), [("gpu", ""), ("cdua", "Did you mean 'cuda'"), ("cuda:x", ""), (0, "")])
def test_misspelt_devices_are_named(value, hint):
    from advrec_gym.device import check_device_name

    with pytest.raises(ValueError, match=r"device must be one of \['auto', 'cpu', 'cuda', 'cuda:N', 'mps'\]") as info:
        check_device_name("device", value)
    assert hint in str(info.value)


def test_the_encoder_refuses_cuda_at_construction_not_with_a_bare_assertion(no_cuda):
    with pytest.raises(ValueError, match="device='cuda' asks for a CUDA GPU"):
        TransformerEncoder(device="cuda")
    assert TransformerEncoder(device="auto").device == torch.device("cpu")


def test_every_layer_uses_the_one_resolver():
    import advrec_gym.encoder
    import agents.supervised.model
    import agents.supervised.pipeline
    import agents.training.load
    import agents.training.trainer
    from advrec_gym.device import resolve_device

    for module in (advrec_gym.encoder, agents.supervised.model, agents.supervised.pipeline):
        assert module.resolve_device is resolve_device, module.__name__
    for module in (agents.training.load, agents.training.trainer):
        assert module.resolve_device is resolve_device, module.__name__
