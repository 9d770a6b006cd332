"""FGSM and PGD on the click model: budgets respected, loss raised, eps = 0 is the identity."""

from __future__ import annotations

import pytest
import torch

from advrec_gym.attacks import Budget
from agents.supervised.adversarial import AdversarialConfig, perturb, perturb_with


@pytest.fixture(scope="module")
def setup(cat30, encoder16, splits30):
    from agents.supervised.model import TwoTowerClickModel

    model = TwoTowerClickModel.for_catalogue(cat30, encoder=encoder16, max_length=16, device="cpu", seed=1)
    data = splits30.train.subset(torch.arange(96).numpy())
    obs = torch.as_tensor(data.observations)
    items = torch.as_tensor(data.items)
    clicks = torch.as_tensor(data.clicks)
    return model, obs, items, clicks


def _loss(model, obs, items, clicks, p):
    with torch.no_grad():
        vec = model.item_vectors(p.items, p.token_delta)
        logits = model.logits_from(model.user_vectors(obs, p.obs_delta), vec, p.items.inverse)
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, clicks).item()


@pytest.mark.slow
@pytest.mark.parametrize("attack", ["fgsm", "pgd"])
@pytest.mark.parametrize(("eps", "norm"), [(0.01, "inf"), (0.3, "2")])
def test_user_side_respects_its_budget_and_raises_the_loss(setup, attack, eps, norm):
    model, obs, items, clicks = setup
    p = perturb(model, obs, items, clicks, attack=attack, steps=4, obs_budget=Budget(eps, norm))
    assert p.token_delta is None and p.obs_delta.shape == (96, 3 * 384)
    size = p.obs_delta.abs().amax(1) if norm == "inf" else p.obs_delta.norm(dim=1)
    assert size.max().item() <= eps * (1 + 1e-5)
    if attack == "fgsm":  # one full step: on the sphere (L2) or the box's faces (L-inf)
        assert size.min().item() == pytest.approx(eps, rel=1e-4)
    clean = _loss(model, obs, items, clicks, perturb(model, obs, items, clicks, obs_budget=Budget(0.0, norm)))
    assert _loss(model, obs, items, clicks, p) > clean + 0.05


@pytest.mark.slow
@pytest.mark.parametrize("attack", ["fgsm", "pgd"])
def test_item_side_respects_its_budget_per_item_text(setup, attack):
    model, obs, items, clicks = setup
    eps = 2.0
    p = perturb(model, obs, items, clicks, attack=attack, steps=3, token_eps=eps)
    radius = eps * model.item_tower.embedding_scale
    norms = p.token_delta.flatten(1).norm(dim=1)
    assert p.token_delta.shape[0] == len(torch.unique(items))  # one perturbation per distinct item
    assert norms.max().item() <= radius * (1 + 1e-5)
    if attack == "fgsm":  # Miyato et al.: r = eps * g / ||g||, exactly on the sphere
        torch.testing.assert_close(norms, torch.full_like(norms, radius), rtol=1e-4, atol=0)
    padding = p.items.mask == 0
    assert torch.all(p.token_delta[padding] == 0)  # padding tokens are never perturbed
    clean = _loss(model, obs, items, clicks, perturb(model, obs, items, clicks, token_eps=0.0))
    assert _loss(model, obs, items, clicks, p) > clean


@pytest.mark.slow
def test_eps_zero_gives_zero_perturbations_and_leaves_the_model_alone(setup):
    model, obs, items, clicks = setup
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    config = AdversarialConfig(rho=1.0, attack="pgd", steps=3, obs_eps=0.0, token_eps=0.0, random_start=True)
    p = perturb_with(model, obs, items, clicks, config, torch.Generator().manual_seed(0))
    assert torch.all(p.obs_delta == 0) and torch.all(p.token_delta == 0)
    assert model.training  # the attack ran in eval mode and restored the mode
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


@pytest.mark.slow
def test_pgd_random_start_is_seeded(setup):
    model, obs, items, clicks = setup
    kw = {"attack": "pgd", "steps": 2, "obs_budget": Budget(0.01, "2"), "random_start": True}
    a = perturb(model, obs, items, clicks, generator=torch.Generator().manual_seed(5), **kw)
    b = perturb(model, obs, items, clicks, generator=torch.Generator().manual_seed(5), **kw)
    assert torch.equal(a.obs_delta, b.obs_delta)


@pytest.mark.parametrize("rho", [-0.1, 1.5])
def test_rho_outside_unit_interval_is_an_error(rho):
    with pytest.raises(ValueError, match=rf"rho must be in \[0, 1\].*got rho={rho}"):
        AdversarialConfig(rho=rho)


def test_mixing_ratio():
    assert AdversarialConfig(rho=0.2).num_adversarial(256) == 51  # round(51.2)
    assert AdversarialConfig(rho=1.0).num_adversarial(7) == 7
    assert AdversarialConfig(rho=0.0).num_adversarial(256) == 0
