"""The attackers: what each one optimises, that the victim is left as found, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from attack_helpers import OBS_DIM, SLICE, ConstantPolicy, DirectionPolicy, named_attacker
from gymnasium import spaces

from advrec_gym.attacks import (
    ATTACKERS,
    FGSM,
    PGD,
    Budget,
    CriticPGD,
    LearnedAdversary,
    RandomNoise,
    action_changed,
    make_attacker,
)
from advrec_gym.attacks.victim import action_probabilities

EPS = Budget(0.05, "inf")


def log_prob_of(policy, obs, actions) -> np.ndarray:
    with torch.no_grad():
        dist = policy.get_distribution(torch.as_tensor(obs))
        return dist.log_prob(torch.as_tensor(actions)).numpy()


def values_of(policy, obs) -> np.ndarray:
    with torch.no_grad():
        return policy.predict_values(torch.as_tensor(obs)).numpy()[:, 0]


# ---------------------------------------------------------------------------------------------- objectives
def test_fgsm_and_pgd_lower_the_clean_actions_probability_pgd_more(victim, observations):
    policy = victim.policy
    clean_action, _ = victim.predict(observations, deterministic=True)
    clean = log_prob_of(policy, observations, clean_action)
    fgsm = log_prob_of(policy, FGSM(victim, EPS).perturb(observations), clean_action)
    pgd = log_prob_of(policy, PGD(victim, EPS, steps=10, early_stop=False).perturb(observations), clean_action)
    noise = log_prob_of(policy, RandomNoise(EPS, seed=0).perturb(observations), clean_action)
    assert np.mean(fgsm) < np.mean(noise) - 0.01 < np.mean(clean)
    assert np.mean(pgd) <= np.mean(fgsm) + 1e-6
    assert np.mean(fgsm < clean) > 0.95  # FGSM's first-order step lowers log pi(a*) almost everywhere


def test_pgd_changes_the_action_wherever_fgsm_does(victim, observations):
    fgsm = action_changed(victim, observations, FGSM(victim, EPS).perturb(observations))
    pgd = action_changed(victim, observations, PGD(victim, EPS, steps=10).perturb(observations))
    assert 0 < fgsm.sum() and np.all(pgd[fgsm])


def test_kl_pgd_moves_the_distribution_away_from_the_clean_one(victim, observations):
    policy = victim.policy
    clean = action_probabilities(policy, observations)

    def kl(perturbed):
        probs = action_probabilities(policy, perturbed)
        return np.sum(clean * (np.log(clean) - np.log(probs)), axis=1).mean()

    kl_pgd = kl(PGD(victim, EPS, steps=10, objective="kl", seed=0).perturb(observations))
    start_only = kl(RandomNoise(EPS, seed=0).perturb(observations))
    assert kl_pgd > 5 * start_only > 0


def test_target_pgd_promotes_the_target_item(victim, observations):
    target = 7
    clean = action_probabilities(victim.policy, observations)[:, target]
    attacked = action_probabilities(
        victim.policy, PGD(victim, EPS, objective="target", target=target).perturb(observations)
    )
    assert np.all(attacked[:, target] > clean)
    assert attacked[:, target].mean() > 1.5 * clean.mean()


def test_critic_pgd_lowers_the_value(victim, observations):
    clean = values_of(victim.policy, observations)
    attacked = values_of(victim.policy, CriticPGD(victim, EPS, steps=5).perturb(observations))
    noise = values_of(victim.policy, RandomNoise(EPS, seed=0).perturb(observations))
    assert np.all(attacked < clean)
    assert (clean - attacked).mean() > 5 * abs((clean - noise).mean())


def test_learned_adversary_maps_its_direction_through_the_budget(observations):
    adversary = DirectionPolicy(OBS_DIM, SLICE.stop, seed=3)
    expected_direction = np.clip(DirectionPolicy(OBS_DIM, SLICE.stop, seed=3).predict(observations)[0], -1, 1)
    obs = observations * 0.5  # keep clear of the bounds, so no clipping
    perturbed = LearnedAdversary(adversary, EPS).perturb(obs)
    np.testing.assert_allclose(perturbed[:, SLICE] - obs[:, SLICE], 0.05 * expected_direction, atol=1e-6)


def test_learned_adversary_with_victim_probabilities(victim, observations):
    adversary = DirectionPolicy(OBS_DIM + 20, SLICE.stop)  # observes obs + the victim's 20 probabilities
    with pytest.raises(ValueError, match="include_victim_probs=True, pass victim="):
        LearnedAdversary(adversary, EPS).perturb(observations)
    perturbed = LearnedAdversary(adversary, EPS, victim=victim).perturb(observations)
    assert np.abs(perturbed - observations).max() <= 0.05 + 1e-6


# ---------------------------------------------------------------------------------------------- identity, seeds, shapes
@pytest.mark.parametrize("name", sorted(ATTACKERS))
def test_eps_zero_is_the_identity_and_inputs_are_never_modified(name, victim, observations, tiny_catalogue):
    for eps in (0.0, 0.05):
        obs = observations.copy()
        attacker = named_attacker(name, victim, Budget(eps, "inf"), tiny_catalogue.embeddings)
        perturbed = attacker.perturb(obs)
        np.testing.assert_array_equal(obs, observations)
        assert (perturbed == obs).all() == (eps == 0.0)


def test_a_single_observation_keeps_its_shape(victim, observations):
    single = PGD(victim, EPS).perturb(observations[0])
    assert single.shape == (OBS_DIM,)
    np.testing.assert_allclose(single, PGD(victim, EPS).perturb(observations[:1])[0])


def test_seeded_attackers_repeat_and_reseed(observations, victim):
    a, b = RandomNoise(EPS, seed=1), RandomNoise(EPS, seed=1)
    first = a.perturb(observations)
    np.testing.assert_array_equal(first, b.perturb(observations))
    assert not np.array_equal(first, a.perturb(observations))  # the stream moves on
    a.reseed(1)
    np.testing.assert_array_equal(first, a.perturb(observations))
    kl = [PGD(victim, EPS, objective="kl", seed=4).perturb(observations) for _ in range(2)]
    np.testing.assert_array_equal(*kl)


def test_attacks_run_on_the_victims_device(victim):
    assert FGSM(victim, EPS).device == victim.policy.device == torch.device("cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_attack_on_a_cuda_victim(tiny_catalogue, observations):
    from stable_baselines3 import PPO

    from advrec_gym.sb3_adapter import SB3VecEnvAdapter
    from advrec_gym.v0 import AdvRecVectorEnv

    model = PPO("MlpPolicy", SB3VecEnvAdapter(AdvRecVectorEnv(2, catalogue=tiny_catalogue)), seed=0, device="cuda")
    attacker = PGD(model, EPS)
    assert attacker.device.type == "cuda"
    perturbed = attacker.perturb(observations)
    assert np.abs(perturbed - observations).max() <= 0.05 + 1e-6
    for name in sorted(ATTACKERS):  # every attack of the suite runs against a CUDA victim
        attacker = named_attacker(name, model, EPS, tiny_catalogue.embeddings)
        assert getattr(getattr(attacker, "actor", attacker), "device", torch.device("cuda")).type == "cuda", name
        perturbed = attacker.perturb(observations)
        assert np.all(np.isfinite(perturbed)) and np.abs(perturbed - observations).max() <= 0.05 + 1e-6, name


# ---------------------------------------------------------------------------------------------- the victim is left as found
def test_victim_parameters_gradients_flags_and_mode_are_unchanged(victim, observations):
    policy = victim.policy
    params = list(policy.parameters())
    policy.train(True)
    policy.action_net.train(False)  # a mixed state must come back as it was
    params[0].requires_grad_(False)
    marker = torch.full_like(params[1], 3.0)
    params[1].grad = marker
    before = [p.detach().clone() for p in params]
    modes = [m.training for m in policy.modules()]
    flags = [p.requires_grad for p in params]
    try:
        for attacker in (FGSM(victim, EPS), PGD(victim, EPS, objective="kl", seed=0), CriticPGD(victim, EPS, steps=2)):
            attacker.perturb(observations)
        action_probabilities(policy, observations)
        assert [m.training for m in policy.modules()] == modes
        assert [p.requires_grad for p in params] == flags
        assert params[1].grad is marker and torch.equal(marker, torch.full_like(params[1], 3.0))
        assert all(p.grad is None for i, p in enumerate(params) if i != 1)
        assert all(torch.equal(a, b) for a, b in zip(before, params, strict=True))
        assert torch.distributions.Distribution._validate_args is True
    finally:
        policy.train(False)
        params[0].requires_grad_(True)
        params[1].grad = None


def test_victim_state_is_restored_when_the_attack_fails(victim, observations, monkeypatch):
    policy = victim.policy
    attacker = PGD(victim, EPS)

    def broken(obs):
        assert not policy.training and not any(p.requires_grad for p in policy.parameters())  # frozen here
        raise RuntimeError("victim failed")

    policy.train(True)
    monkeypatch.setattr(policy, "get_distribution", broken)
    try:
        with pytest.raises(RuntimeError, match="victim failed"):
            attacker.perturb(observations)
        assert all(m.training for m in policy.modules()) and all(p.requires_grad for p in policy.parameters())
    finally:
        policy.train(False)


# ---------------------------------------------------------------------------------------------- bad input
def test_unknown_attacker_names_get_a_suggestion(victim):
    with pytest.raises(ValueError, match=r"name must be one of .* got name='pdg'\. Did you mean 'pgd'\?"):
        make_attacker("pdg", victim, eps=0.1)


@pytest.mark.parametrize("cls", [FGSM, PGD, CriticPGD])
def test_white_box_attackers_refuse_a_non_torch_victim_and_name_the_black_box_ones(cls):
    with pytest.raises(TypeError) as info:
        cls(ConstantPolicy(), eps=0.1)
    message = str(info.value)
    assert f"{cls.__name__} is a white-box attack" in message and "ConstantPolicy" in message
    assert "RandomNoise ('random')" in message and "LearnedAdversary" in message


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda v: PGD(v, EPS, steps=0), ValueError, "steps must be an int in [1, inf), got steps=0"),
        (lambda v: PGD(v, EPS, step_size=-1.0), ValueError, "step_size must be a finite number in [0.0, inf)"),
        (lambda v: PGD(v, EPS, objective="kll"), ValueError, "Did you mean 'kl'?"),
        (lambda v: PGD(v, EPS, objective="kl", random_start=False), ValueError, "needs random_start=True"),
        (lambda v: PGD(v, EPS, objective="target"), ValueError, "needs target=<item index"),
        (lambda v: PGD(v, EPS, objective="target", target=20), ValueError, "target must be an int in [0, 19]"),
        (lambda v: PGD(v, EPS, target=3), ValueError, "target is only used with objective='target'"),
        (lambda v: PGD(v, EPS, random_start=True, fgsm_start=True), ValueError, "excludes random_start=True"),
        (lambda v: PGD(v), ValueError, "pass budget=Budget(eps, norm) or eps="),
        (lambda v: PGD(v, EPS, eps=0.1), ValueError, "Give either budget or eps"),
        (lambda v: PGD(v, eps=-1.0), ValueError, "eps must be a finite number in [0.0, inf), got eps=-1.0"),
        (lambda v: PGD(v, eps=0.1, norm="l3"), ValueError, "norm must be one of ['inf', '2'], got norm='l3'"),
        (lambda v: RandomNoise(EPS, embedding_slice=slice(0, 24, 2)), TypeError, "contiguous slice"),
        (lambda v: PGD(v, EPS, embedding_slice=slice(0, 40)), ValueError, "inside an observation of size 27"),
        (lambda v: RandomNoise(EPS, clip_range=(1.0, -1.0)), ValueError, "clip_range must have low < high"),
        (lambda v: LearnedAdversary(object(), EPS), TypeError, "adversary must have SB3's predict"),
        (lambda v: make_attacker("learned", v, EPS), ValueError, "needs adversary="),
    ],
)
def test_bad_arguments_are_refused_at_construction(victim, make, error, words):
    with pytest.raises(error) as info:
        make(victim)
    assert words in str(info.value)


def test_observations_of_the_wrong_shape_or_with_nan_are_refused(victim):
    with pytest.raises(ValueError, match=r"obs must have shape \(n, 27\) or \(27,\), got shape \(3, 10\)"):
        FGSM(victim, EPS).perturb(np.zeros((3, 10), dtype=np.float32))
    bad = np.zeros((2, OBS_DIM), dtype=np.float32)
    bad[1, 3] = np.nan
    with pytest.raises(ValueError, match="obs must be finite"):
        RandomNoise(EPS).perturb(bad)


def test_bind_checks_the_env_observation_space(victim):
    attacker = FGSM(victim, EPS)
    with pytest.raises(ValueError, match=r"expects shape \(27,\): attack the env the victim was trained on"):
        attacker.bind(spaces.Box(-1, 1, (51,), np.float32), slice(0, 48))
    noise = RandomNoise(EPS)
    noise.bind(spaces.Box(-1, 1, (OBS_DIM,), np.float32), SLICE)
    assert noise.embedding_slice == SLICE
