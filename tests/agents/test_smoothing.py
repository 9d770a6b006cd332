"""Test-time randomized smoothing: sigma = 0 is the policy itself; the estimate is the mean of noised copies,
noise touches the embedding slice only, same seed gives the same result, and the attack suite and the
evaluator run through it unchanged.

Tiny env (20 items, 8-d hand-made embeddings), an untrained MlpPolicy with sharpened logits, one torch thread.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

from advrec_gym.attacks import Budget, evaluate_attack, make_attacker
from advrec_gym.attacks.victim import attack_surface, categorical_parts
from agents.defences import SmoothedPolicy, smoothed
from agents.training.players import sb3_env

pytestmark = pytest.mark.usefixtures("one_torch_thread")

EMBEDDING = slice(0, 24)  # the tiny catalogue's 3 history blocks of 8 dims; 3 scalars follow


def _venv(catalogue, n: int = 4):
    return gym.make_vec("AdvRec-v0", num_envs=n, vectorization_mode="vector_entry_point", catalogue=catalogue)


@pytest.fixture(scope="module")
def model(tiny_catalogue):
    model = PPO("MlpPolicy", sb3_env(_venv(tiny_catalogue)), n_steps=16, batch_size=16, seed=0, device="cpu")
    with torch.no_grad():  # SB3 starts near uniform: sharpen the head, as training would
        model.policy.action_net.weight.mul_(300.0)
    return model


@pytest.fixture(scope="module")
def states(tiny_catalogue) -> np.ndarray:
    venv = _venv(tiny_catalogue, 16)
    obs, _ = venv.reset(seed=5)
    rng, out = np.random.default_rng(0), [obs]
    for _ in range(3):
        obs, *_ = venv.step(rng.integers(0, tiny_catalogue.num_items, 16))
        out.append(obs)
    return np.concatenate(out).astype(np.float32)


def _probs(policy, obs) -> np.ndarray:
    with torch.no_grad():
        return categorical_parts(policy.get_distribution(torch.as_tensor(obs)))[0].probs.numpy()


def test_sigma_zero_is_the_policy_and_draws_no_noise(model, states):
    smooth = SmoothedPolicy(model.policy, 0.0, EMBEDDING, copies=4, seed=3)
    before = smooth.generator.get_state().clone()
    np.testing.assert_array_equal(_probs(smooth, states), _probs(model.policy, states))
    with torch.no_grad():
        x = torch.as_tensor(states)
        np.testing.assert_array_equal(smooth.predict_values(x).numpy(), model.policy.predict_values(x).numpy())
    assert torch.equal(smooth.generator.get_state(), before)


def test_the_estimate_is_the_mean_of_the_noised_copies(model, states):
    sigma, copies = 0.3, 5
    smooth = SmoothedPolicy(model.policy, sigma, EMBEDDING, copies=copies, seed=7)
    got = _probs(smooth, states)
    # the same noise, drawn again by hand from the same seed, one copy at a time
    gen = torch.Generator().manual_seed(7)
    noise = torch.randn((copies, len(states), 24), generator=gen).numpy()
    expected = np.zeros_like(got)
    for k in range(copies):
        noised = states.copy()
        noised[:, EMBEDDING] += sigma * noise[k]
        expected += _probs(model.policy, noised) / copies
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    assert not np.allclose(got, _probs(model.policy, states), atol=1e-3)  # the noise did move it


def test_noise_touches_the_embedding_slice_only_at_scale_sigma(model, states):
    smooth = SmoothedPolicy(model.policy, 0.05, EMBEDDING, copies=64, seed=0)
    noised = smooth._noisy(torch.as_tensor(states)).reshape(64, len(states), -1).numpy()
    delta = noised - states[None]
    assert np.all(delta[..., EMBEDDING.stop :] == 0.0)
    assert delta[..., EMBEDDING].std() == pytest.approx(0.05, rel=0.03)


def test_same_seed_same_noise_and_reseed_restarts_it(model, states):
    a = SmoothedPolicy(model.policy, 0.2, EMBEDDING, copies=3, seed=11)
    b = SmoothedPolicy(model.policy, 0.2, EMBEDDING, copies=3, seed=11)
    first = _probs(a, states)
    np.testing.assert_array_equal(first, _probs(b, states))
    assert not np.array_equal(first, _probs(a, states))  # fresh noise on every call
    a.reseed(11)
    np.testing.assert_array_equal(first, _probs(a, states))


def test_smoothing_makes_the_distribution_harder_to_move(model, states):
    """KL-PGD inside the same ball moves the smoothed policy less than the policy, and less as sigma grows."""
    budget = Budget(0.05, "inf")

    def attacked_tv(victim, policy) -> float:
        attack = make_attacker("pgd-kl", victim, budget, steps=10, embedding_slice=EMBEDDING, seed=0)
        perturbed = np.asarray(attack.perturb(states))
        if isinstance(policy, SmoothedPolicy):
            policy.reseed(1)
            clean = _probs(policy, states)
            policy.reseed(1)  # the same noise at both points: the difference is the attack's alone
            return float(0.5 * np.abs(_probs(policy, perturbed) - clean).sum(axis=1).mean())
        return float(0.5 * np.abs(_probs(policy, perturbed) - _probs(policy, states)).sum(axis=1).mean())

    plain = attacked_tv(model, model.policy)
    tv = {}
    for sigma in (0.5, 1.0, 2.0):
        smooth = smoothed(model, sigma, EMBEDDING, copies=64, seed=0)
        tv[sigma] = attacked_tv(smooth, smooth.policy)
    assert plain > tv[0.5] > tv[1.0] > tv[2.0]  # the more noise, the less an attack in the ball moves it
    assert tv[1.0] < 0.5 * plain


@pytest.mark.parametrize("name", ["fgsm", "pgd-topk", "pgd-kl", "pgd-eot", "critic"])
def test_white_box_attacks_run_through_it_and_keep_the_budget(model, states, name):
    smooth = smoothed(model, 0.2, EMBEDDING, copies=4, seed=0)
    assert attack_surface(smooth) == {"scores", "distribution", "values"}
    budget = Budget(0.05, "inf")
    kwargs = {"steps": 3} if name != "fgsm" else {}
    attack = make_attacker(name, smooth, budget, embedding_slice=EMBEDDING, seed=0, **kwargs)
    params = [p.detach().clone() for p in model.policy.parameters()]
    perturbed = np.asarray(attack.perturb(states))
    delta = perturbed - states
    assert np.isfinite(perturbed).all()
    assert np.abs(delta).max() <= 0.05 + 1e-6 and np.abs(delta).max() > 0.0
    assert np.all(delta[:, EMBEDDING.stop :] == 0.0)
    assert all(torch.equal(p, q) for p, q in zip(params, model.policy.parameters(), strict=True))


def test_the_evaluator_runs_it_and_is_reproducible(model, tiny_catalogue):
    def run(seed: int):
        smooth = smoothed(model, 0.2, EMBEDDING, copies=2, seed=seed)
        attack = make_attacker("pgd-topk", smooth, Budget(0.05, "inf"), steps=2, k=3, embedding_slice=EMBEDDING, seed=0)
        return evaluate_attack(_venv(tiny_catalogue), smooth, attack, episodes=4, seed=3).returns

    first = run(0)
    assert first.shape == (4,) and np.isfinite(first).all()
    np.testing.assert_array_equal(first, run(0))


def test_predict_takes_one_observation_or_a_batch(model, states):
    smooth = smoothed(model, 0.2, EMBEDDING, copies=2, seed=0)
    one, _ = smooth.predict(states[0])
    batch, _ = smooth.predict(states, deterministic=True)
    assert np.ndim(one) == 0 and batch.shape == (len(states),)
    assert batch.dtype == np.int64 and (batch >= 0).all() and (batch < 20).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sigma": -0.1}, "sigma"),
        ({"copies": 0}, "copies"),
        ({"embedding_slice": (0, 24)}, "embedding_slice must be a slice"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_settings_are_named(model, kwargs, message):
    settings = {"sigma": 0.1, "embedding_slice": EMBEDDING, "copies": 2, "seed": 0, **kwargs}
    with pytest.raises((ValueError, TypeError), match=message):
        SmoothedPolicy(model.policy, settings.pop("sigma"), settings.pop("embedding_slice"), **settings)


def test_a_model_without_a_torch_policy_is_refused():
    with pytest.raises(TypeError, match="stable-baselines3 model or policy"):
        smoothed(object(), 0.1, EMBEDDING)
