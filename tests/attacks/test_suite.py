"""The evaluation suite on a briefly trained policy: every attack reaches at least FGSM's objective,
the objectives compute what they say, the query budget holds, seeds repeat, the victim is untouched.

The victim is SB3 ``PPO("MlpPolicy")`` trained for 6,144 steps on the tiny 20-item, 8-d catalogue
(seconds); the budgets are large for 8-d embeddings (L-inf 0.05, L2 0.15) so that the attacks move.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from attack_helpers import OBS_DIM, SLICE, DirectionPolicy, named_attacker
from stable_baselines3 import PPO

from advrec_gym.attacks import (
    APGD,
    ATTACKERS,
    FGSM,
    MAD,
    PAAD,
    SUITE,
    Budget,
    Objective,
    QueryAttack,
    RandomNoise,
    applicable_attacks,
    attack_surface,
    make_attacker,
)
from advrec_gym.attacks.apgd import apgd_checkpoints
from advrec_gym.attacks.objectives import Victim
from advrec_gym.sb3_adapter import SB3VecEnvAdapter
from advrec_gym.v0 import AdvRecVectorEnv
from advrec_gym.wrappers import AdversarialObservation

BUDGETS = [Budget(0.05, "inf"), Budget(0.15, "2")]
BUDGET_IDS = ["linf", "l2"]


@pytest.fixture(scope="module")
def trained(tiny_catalogue):
    """(victim, 128 observations from its own sampled rollouts): PPO trained 6,144 steps on the tiny env."""
    venv = AdvRecVectorEnv(8, catalogue=tiny_catalogue, max_episode_steps=20)
    model = PPO("MlpPolicy", SB3VecEnvAdapter(venv), n_steps=64, batch_size=128, seed=0, device="cpu")
    model.learn(6144)
    env = AdvRecVectorEnv(16, catalogue=tiny_catalogue, max_episode_steps=20)
    obs, _ = env.reset(seed=7)
    rng, rows = np.random.default_rng(1), []
    for _ in range(8):
        obs, *_ = env.step(rng.integers(0, 20, 16))
        rows.append(obs.copy())
    return model, np.concatenate(rows)


def objective_values(victim, objective: Objective, clean, perturbed, embeddings, seed=0) -> np.ndarray:
    view = Victim(victim.policy, embeddings)
    x, xa = torch.as_tensor(clean), torch.as_tensor(perturbed)
    return objective.evaluate(view, x, xa, np.random.default_rng(seed)).numpy()


# ---------------------------------------------------------------------------------------------- at least FGSM
@pytest.mark.parametrize("budget", BUDGETS, ids=BUDGET_IDS)
@pytest.mark.parametrize("objective", ["action", "topk", "semantic", "critic", "kl"])
def test_apgd_scores_at_least_fgsms_point_on_every_row(trained, tiny_catalogue, objective, budget):
    """APGD's first restart starts at d = 0 and steps like FGSM (for KL, whose gradient vanishes at 0, it
    starts at FGSM's point on the greedy action), and it keeps the best iterate: so per row its objective
    is at least that of FGSM's point, for every objective."""
    model, obs = trained
    emb = tiny_catalogue.embeddings
    apgd = APGD(model, budget, objective=objective, steps=10, restarts=2, k=3, item_embeddings=emb, seed=0)
    fgsm = FGSM(model, budget, objective="action" if objective == "kl" else objective, k=3, item_embeddings=emb)
    spec = apgd.objective
    attacked = objective_values(model, spec, obs, apgd.perturb(obs), emb)
    at_fgsm = objective_values(model, spec, obs, fgsm.perturb(obs), emb)
    clean = objective_values(model, spec, obs, obs, emb)
    assert np.all(attacked >= at_fgsm - 1e-5 * (1 + np.abs(at_fgsm))), (attacked - at_fgsm).min()
    assert attacked.mean() > clean.mean()  # measured: APGD beats FGSM's point on 0-100% of rows (semantic L2: 0%)


@pytest.mark.parametrize("budget", BUDGETS, ids=BUDGET_IDS)
def test_more_steps_and_restarts_never_score_lower_in_the_mean(trained, tiny_catalogue, budget):
    model, obs = trained
    spec = Objective("topk", k=3)
    scores = [
        objective_values(model, spec, obs, APGD(model, budget, steps=s, restarts=r, k=3, seed=0).perturb(obs), None)
        for s, r in ((5, 1), (20, 1), (20, 3))
    ]
    assert scores[0].mean() <= scores[1].mean() + 1e-6 <= scores[2].mean() + 2e-6
    assert np.all(scores[2] >= scores[1] - 1e-5)  # restart 0 of (20, 3) is the (20, 1) run: the best only grows


def test_the_query_attack_approaches_the_white_box_one_on_the_same_objective(trained):
    model, obs = trained
    budget, spec = BUDGETS[0], Objective("topk", k=3)
    query = objective_values(
        model, spec, obs, QueryAttack(model, budget, objective="topk", k=3, queries=600, seed=0).perturb(obs), None
    )
    white = objective_values(model, spec, obs, APGD(model, budget, k=3, steps=20, seed=0).perturb(obs), None)
    noise = objective_values(model, spec, obs, RandomNoise(budget, seed=0).perturb(obs), None)
    clean = objective_values(model, spec, obs, obs, None)
    # measured: clean 0.29, noise 0.29, query 0.39, APGD 0.40
    assert noise.mean() < clean.mean() + 0.02
    assert query.mean() - clean.mean() > 0.7 * (white.mean() - clean.mean())


@pytest.mark.parametrize("budget", BUDGETS, ids=BUDGET_IDS)
def test_mad_raises_the_kl_at_least_to_fgsms_point(trained, budget):
    model, obs = trained
    spec = Objective("kl")
    mad = objective_values(model, spec, obs, MAD(model, budget, steps=10, seed=0).perturb(obs), None)
    at_fgsm = objective_values(model, spec, obs, FGSM(model, budget).perturb(obs), None)
    noise = objective_values(model, spec, obs, RandomNoise(budget, seed=0).perturb(obs), None)
    assert np.all(mad >= at_fgsm - 1e-5 * (1 + np.abs(at_fgsm))) and mad.mean() > 5 * noise.mean() > 0


# ---------------------------------------------------------------------------------------------- the objectives
class LinearPolicy(torch.nn.Module):
    """logits = obs[:, :2] @ W: a victim whose probabilities are known in closed form."""

    def __init__(self, weights):
        super().__init__()
        self.w = torch.nn.Parameter(torch.as_tensor(weights, dtype=torch.float32))

    def get_distribution(self, obs):
        from stable_baselines3.common.distributions import CategoricalDistribution

        return CategoricalDistribution(self.w.shape[1]).proba_distribution(obs[:, :2] @ self.w)


def test_objectives_compute_the_hand_written_formulas():
    # logits [0, ln 2, ln 3, 0] at the clean point: p = [1, 2, 3, 1] / 7
    w = torch.tensor([[0.0, math.log(2), math.log(3), 0.0], [0.0, 0.0, 0.0, 0.0]])
    victim = Victim(LinearPolicy(w), item_embeddings=np.array([[1, 0], [0, 1], [1, 1], [-1, 0]], dtype=np.float32))
    clean = torch.tensor([[1.0, 0.0]])
    moved = torch.tensor([[0.0, 0.0]])  # uniform: p' = 1/4 each
    rng = np.random.default_rng(0)
    top2 = Objective("topk", k=2).evaluate(victim, clean, moved, rng)  # clean top 2: items 2 and 1
    assert top2.item() == pytest.approx(-math.log(0.5), rel=1e-6)
    action = Objective("action").evaluate(victim, clean, moved, rng)  # greedy item 2
    assert action.item() == pytest.approx(-math.log(0.25), rel=1e-6)
    kl = Objective("kl").evaluate(victim, clean, moved, rng)
    p = np.array([1, 2, 3, 1]) / 7
    assert kl.item() == pytest.approx(float(np.sum(p * np.log(p / 0.25))), rel=1e-5)
    # expected embeddings: clean [(1 + 3 - 1) / 7, (2 + 3) / 7] = [3, 5] / 7, moved [1, 2] / 4
    u0 = np.array([3.0, 5.0]) / np.linalg.norm([3.0, 5.0])
    semantic = Objective("semantic").evaluate(victim, clean, moved, rng)
    assert semantic.item() == pytest.approx(-float(np.dot([0.25, 0.5], u0)), rel=1e-5)
    assert Objective("semantic").evaluate(victim, clean, clean, rng).item() == pytest.approx(-np.sqrt(34) / 7)


def test_sampled_action_targets_average_over_the_clean_distribution():
    """EOT over the victim's sampling: with many samples the sampled-action objective is the
    cross-entropy H(p_clean, p') = sum_j p_j (-log p'_j)."""
    w = torch.tensor([[0.0, math.log(2), math.log(3), 0.0], [0.0, 0.0, 0.0, 0.0]])
    victim = Victim(LinearPolicy(w))
    clean, moved = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.5, 0.0]])
    p = np.array([1, 2, 3, 1]) / 7
    q = np.array([1, 2**0.5, 3**0.5, 1]) / (2 + 2**0.5 + 3**0.5)
    spec = Objective("action", action_target="sampled", eot_samples=20_000)
    value = spec.evaluate(victim, clean, moved, np.random.default_rng(0)).item()
    assert value == pytest.approx(float(np.sum(-p * np.log(q))), abs=0.02)


def test_apgd_checkpoints_are_autoattacks():
    assert apgd_checkpoints(100) == [22, 41, 57, 70, 80, 87, 93, 99]  # Croce and Hein 2020, 100 iterations
    assert apgd_checkpoints(20) == [5, 9, 12, 14, 16, 18, 19]
    assert apgd_checkpoints(1) == []


# ---------------------------------------------------------------------------------------------- PA-AD
def test_pa_ad_moves_the_expected_embedding_along_the_directors_direction(trained, tiny_catalogue):
    model, obs = trained
    emb = tiny_catalogue.embeddings
    rng = np.random.default_rng(3)
    directions = rng.standard_normal((len(obs), emb.shape[1])).astype(np.float32)
    paad = PAAD(None, model, BUDGETS[0], steps=5, prior=False, item_embeddings=emb, seed=0)
    perturbed = paad.realise(obs, directions)
    view = Victim(model.policy, emb)
    with torch.no_grad():
        before = view.expected_embedding(view.log_probs(torch.as_tensor(obs)))[:, 0]
        after = view.expected_embedding(view.log_probs(torch.as_tensor(perturbed)))[:, 0]
    clipped = np.clip(directions, -1, 1)  # the director's action space is [-1, 1]^dim
    u = torch.as_tensor(clipped / np.linalg.norm(clipped, axis=1, keepdims=True))
    assert torch.all(((after - before) * u).sum(dim=1) > 0)
    assert np.array_equal(paad.realise(obs, np.zeros_like(directions)), obs)  # no direction, no prior: no move
    with pytest.raises(ValueError, match="has no director yet"):
        paad.perturb(obs)
    with pytest.raises(ValueError, match=r"directions must have shape \(128, 8\), got shape \(128, 7\)"):
        paad.realise(obs, directions[:, :7])
    director = DirectionPolicy(OBS_DIM, emb.shape[1], seed=5)
    expected = paad.realise(obs, DirectionPolicy(OBS_DIM, emb.shape[1], seed=5).predict(obs)[0])
    acting = PAAD(director, model, BUDGETS[0], steps=5, prior=False, item_embeddings=emb, seed=0)
    np.testing.assert_array_equal(acting.perturb(obs), expected)


def test_pa_ads_prior_makes_an_idle_director_the_semantic_attack(trained, tiny_catalogue):
    model, obs = trained
    emb = tiny_catalogue.embeddings
    idle = PAAD(None, model, BUDGETS[0], steps=5, item_embeddings=emb, seed=0).realise(obs, np.zeros((len(obs), 8)))
    semantic = APGD(model, BUDGETS[0], objective="semantic", steps=5, item_embeddings=emb, seed=0).perturb(obs)
    spec = Objective("semantic")
    gains = [
        objective_values(model, spec, obs, p, emb) - objective_values(model, spec, obs, obs, emb)
        for p in (idle, semantic)
    ]
    assert np.all(gains[0] > 0)
    np.testing.assert_allclose(gains[0], gains[1], rtol=1e-3, atol=1e-6)


# ---------------------------------------------------------------------------------------------- queries
class CountingScores:
    """A query-only victim: the trained model's log-probabilities, counting every row it scores."""

    def __init__(self, model):
        self.model, self.rows, self.calls = model, 0, 0

    def action_scores(self, obs):
        self.rows += len(obs)
        self.calls += 1
        with torch.no_grad():
            return self.model.policy.get_distribution(torch.as_tensor(obs)).distribution.logits.numpy()


@pytest.mark.parametrize("queries", [40, 117, 1000])
def test_the_query_attack_respects_its_query_budget(trained, queries):
    model, obs = trained
    victim = CountingScores(model)
    attack = QueryAttack(victim, BUDGETS[0], objective="topk", queries=queries, samples=4, seed=0)
    attack.perturb(obs)
    per_row = victim.rows / len(obs)
    # 1 clean query, then 2 * 4 + 1 = 9 per iteration, as many as fit
    assert per_row == 1 + 9 * ((queries - 1) // 9) <= queries
    assert attack.last_queries_per_row == per_row and attack.queries_used == victim.rows
    assert victim.calls == 1 + 2 * ((queries - 1) // 9)


def test_a_victim_whose_scores_ignore_the_observation_is_never_moved(observations):
    class Uniform:
        attack_surface = frozenset({"scores"})

        def action_scores(self, obs):
            return np.zeros((len(obs), 20), dtype=np.float32)

    perturbed = QueryAttack(Uniform(), BUDGETS[0], objective="topk", queries=100, samples=4, seed=0).perturb(
        observations
    )
    np.testing.assert_array_equal(perturbed, observations)


def test_the_query_attack_refuses_a_victim_without_scores():
    with pytest.raises(TypeError, match="query-only attack: victim must have action_scores"):
        QueryAttack(object(), BUDGETS[0])
    with pytest.raises(ValueError, match=r"queries must be an int in \[10, inf\), got queries=9"):
        QueryAttack(CountingScores(None), BUDGETS[0], queries=9, samples=4)


# ---------------------------------------------------------------------------------------------- seeds, victim, widths
@pytest.mark.parametrize("name", sorted(ATTACKERS))
def test_every_attack_repeats_from_its_seed(name, victim, observations, tiny_catalogue):
    emb = tiny_catalogue.embeddings
    first = named_attacker(name, victim, BUDGETS[0], emb, seed=3)
    out = first.perturb(observations)
    np.testing.assert_array_equal(out, named_attacker(name, victim, BUDGETS[0], emb, seed=3).perturb(observations))
    first.reseed(3)
    if name not in ("learned", "pa-ad"):  # their stand-in adversaries have their own streams
        np.testing.assert_array_equal(out, first.perturb(observations))


def test_no_white_box_attack_changes_the_victim(victim, observations, tiny_catalogue):
    policy = victim.policy
    params = list(policy.parameters())
    policy.train(True)
    policy.mlp_extractor.train(False)  # a mixed state must come back as it was
    before = [p.detach().clone() for p in params]
    modes = [m.training for m in policy.modules()]
    try:
        for name in sorted(ATTACKERS):
            named_attacker(name, victim, BUDGETS[1], tiny_catalogue.embeddings).perturb(observations)
            assert [m.training for m in policy.modules()] == modes, name
            assert all(p.requires_grad and p.grad is None for p in params), name
            assert all(torch.equal(a, b) for a, b in zip(before, params, strict=True)), name
    finally:
        policy.train(False)


@pytest.mark.parametrize("name", sorted(ATTACKERS))
def test_every_bound_attacker_refuses_observations_of_another_width(name, victim, observations, tiny_catalogue):
    attacker = named_attacker(name, victim, BUDGETS[0], tiny_catalogue.embeddings)
    attacker.bind(AdvRecVectorEnv(2, catalogue=tiny_catalogue).single_observation_space, SLICE)
    with pytest.raises(ValueError, match=r"obs must have shape \(n, 27\) or \(27,\), got shape \(4, 30\)"):
        attacker.perturb(np.zeros((4, 30), dtype=np.float32))


def test_random_noise_bound_to_an_env_refuses_the_wrong_width(tiny_catalogue):
    venv = AdvRecVectorEnv(2, catalogue=tiny_catalogue)
    wrapped = AdversarialObservation(venv, RandomNoise(BUDGETS[0], seed=0))
    with pytest.raises(ValueError, match=r"got shape \(2, 26\)"):
        wrapped.attacker.perturb(np.zeros((2, OBS_DIM - 1), dtype=np.float32))


def test_binding_gives_the_semantic_attack_the_envs_catalogue(victim, tiny_catalogue, observations):
    attacker = make_attacker("pgd-semantic", victim, BUDGETS[0], steps=2)
    with pytest.raises(ValueError, match="needs the catalogue's item embeddings"):
        attacker.perturb(observations)
    AdversarialObservation(AdvRecVectorEnv(2, catalogue=tiny_catalogue), attacker)
    np.testing.assert_array_equal(attacker.item_embeddings, tiny_catalogue.embeddings)
    assert np.abs(attacker.perturb(observations) - observations).max() == pytest.approx(0.05, rel=1e-5)


# ---------------------------------------------------------------------------------------------- what applies
def test_the_attacks_that_apply_are_read_off_the_victim(victim):
    assert attack_surface(victim) == {"scores", "distribution", "values"}
    assert set(applicable_attacks(victim)) == set(ATTACKERS)  # an SB3 actor-critic takes every attack

    class ScoresOnly:
        def action_scores(self, obs):
            return np.zeros((len(obs), 3), dtype=np.float32)

    assert attack_surface(ScoresOnly()) == frozenset()  # undeclared: black-box attacks only
    ScoresOnly.attack_surface = frozenset({"scores"})
    assert applicable_attacks(ScoresOnly(), SUITE) == ("random", "query", "learned")
    with pytest.raises(ValueError, match="attack_surface must be a subset"):
        ScoresOnly.attack_surface = frozenset({"gradients"})
        attack_surface(ScoresOnly())
