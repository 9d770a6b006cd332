"""The click model as a recommender in AdvRec-v0, and the adaptive re-training loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import VecMonitor

from advrec_gym.attacks import FGSM, AttackerVectorEnv, Budget, LearnedAdversary, RandomNoise, attack_success_rate
from advrec_gym.evaluation import evaluate
from advrec_gym.sb3_adapter import SB3VecEnvAdapter
from agents.baselines import RandomPolicy
from agents.supervised.data import make_log_env
from agents.supervised.policy import ClickModelPolicy
from agents.supervised.retrain import drifting_catalogues, run_online
from agents.supervised.train import OptimizationConfig, train
from agents.training import TrainConfig
from agents.training.adversary_fit import collect_states, fit_adversary
from agents.training.players import make_adversary


@pytest.fixture(scope="module")
def trained(cat30, encoder16, splits30):
    from agents.supervised.model import TwoTowerClickModel

    model = TwoTowerClickModel.for_catalogue(cat30, encoder=encoder16, max_length=16, dropout=0.0, device="cpu")
    train(
        model,
        splits30.train,
        splits30.validation,
        OptimizationConfig(epochs=2, batch_size=128, lr=3e-3, progress=False),
    )
    return model


@pytest.mark.slow
def test_policy_runs_in_the_env_and_beats_random(cat30, trained):
    venv = make_log_env(cat30, 16)
    random_return = evaluate(venv, RandomPolicy(30, seed=0), 64, seed=100).mean_return
    result = evaluate(venv, ClickModelPolicy(trained, seed=0), 64, seed=100)
    # measured: random 10.7, click model (sampled) 15.3 over these 64 episodes
    assert result.mean_return > random_return + 2.0
    assert len(result.returns) == 64


@pytest.mark.slow
def test_predict_shapes_and_greedy_choice(cat30, trained):
    obs = make_log_env(cat30, 4).reset(seed=0)[0]
    policy = ClickModelPolicy(trained, seed=0)
    actions, state = policy.predict(obs, deterministic=True)
    assert actions.shape == (4,) and state is None
    logits = policy.action_logits(torch.as_tensor(obs)).detach().numpy()
    np.testing.assert_array_equal(actions, logits.argmax(1))
    single, _ = policy.predict(obs[0], deterministic=True)
    assert int(single) == actions[0]
    slate, _ = ClickModelPolicy(trained, slate_size=3, seed=0).predict(obs, deterministic=False)
    assert slate.shape == (4, 3) and all(len(set(row)) == 3 for row in slate)
    with pytest.raises(ValueError, match="observation must have 1155 features"):
        policy.predict(np.zeros((2, 10), dtype=np.float32))


@pytest.mark.slow
def test_action_logits_are_differentiable_in_the_observation(cat30, trained):
    obs = torch.as_tensor(make_log_env(cat30, 2).reset(seed=1)[0]).requires_grad_(True)
    logits = ClickModelPolicy(trained).action_logits(obs)
    logits[:, 0].sum().backward()
    assert obs.grad is not None and obs.grad.abs().sum() > 0


@pytest.mark.slow
def test_env_white_box_attack_moves_the_policy_within_budget(cat30, trained):
    obs = make_log_env(cat30, 16).reset(seed=2)[0]
    policy = ClickModelPolicy(trained, seed=0)
    attacker = FGSM(policy, eps=0.01, norm="inf", embedding_slice=slice(0, 3 * 384))
    attacked = attacker.perturb(obs)
    delta = attacked - obs
    assert np.abs(delta).max() <= 0.01 + 1e-6 and np.all(delta[:, 3 * 384 :] == 0)
    clean, _ = policy.predict(obs, deterministic=True)
    moved, _ = policy.predict(attacked, deterministic=True)
    assert (clean != moved).mean() >= 0.5  # the greedy item changes for most users
    assert all(p.requires_grad for p in trained.user_tower.parameters())  # the attack restored the model


@pytest.mark.slow
def test_the_learned_adversary_warm_start_targets_the_click_model(cat30, trained):
    # the board's learned adversary against the supervised entry: white-box warm start through the
    # click model (its torch view has no `.device`; the fit must not need one)
    policy, budget, venv = ClickModelPolicy(trained, seed=0), Budget(0.05, "inf"), make_log_env(cat30, 8)
    attacker_env = VecMonitor(SB3VecEnvAdapter(AttackerVectorEnv(policy, env=venv, budget=budget)))
    adversary = make_adversary(TrainConfig(attacker_n_steps=8), attacker_env, device="cpu", seed=0)
    states = collect_states(policy, venv, 256, seed=1)
    before = {n: (p.detach().clone(), p.requires_grad) for n, p in trained.named_parameters()}
    log_prob = fit_adversary(adversary, policy, states, budget, venv.unwrapped.embedding_slice, epochs=20, seed=0)
    assert np.isfinite(log_prob)
    for name, p in trained.named_parameters():  # the victim is left as it was
        assert torch.equal(p, before[name][0]) and p.requires_grad == before[name][1], name
    test_states = collect_states(policy, venv, 128, seed=2)
    learned = attack_success_rate(policy, LearnedAdversary(adversary, budget), test_states)
    noise = attack_success_rate(policy, RandomNoise(budget, seed=0), test_states)
    assert learned > noise + 0.2, (learned, noise)


@pytest.mark.slow
def test_drifting_catalogues_reverse_the_topic_ranking(cat30):
    phases = drifting_catalogues(cat30, 3)
    np.testing.assert_allclose(phases[0].popularity, cat30.popularity)
    mass = [np.bincount(c.topic_index, weights=c.popularity) for c in phases]
    order = np.argsort(-mass[0])
    # the last phase gives the most popular topic the smallest mass and vice versa
    np.testing.assert_allclose(mass[2][order], np.sort(mass[0]))
    # within a topic, items keep their shares
    t = cat30.topic_index
    np.testing.assert_allclose(phases[2].popularity / mass[2][t], cat30.popularity / mass[0][t])


@pytest.mark.slow
def test_online_loop_retrains_every_n_steps(cat30, trained):
    import copy

    kwargs = {"phases": 2, "steps_per_phase": 480, "num_envs": 16, "window": 960, "block_steps": 240, "seed": 0}
    frozen = copy.deepcopy(trained)
    a = run_online(frozen, cat30, retrain_every=None, **kwargs)
    b = run_online(copy.deepcopy(trained), cat30, retrain_every=None, **kwargs)
    assert a.phase_return == b.phase_return and a.block_ctr == b.block_ctr  # seeded
    assert len(a.block_ctr) == 4 and a.retrain_steps == [] and np.all(np.isfinite(a.phase_return))
    for p, q in zip(frozen.parameters(), trained.parameters(), strict=True):
        assert torch.equal(p, q)  # no re-training, no change
    retrained = copy.deepcopy(trained)
    c = run_online(
        retrained,
        cat30,
        retrain_every=480,
        train_config=OptimizationConfig(epochs=1, batch_size=128, progress=False),
        **kwargs,
    )
    assert c.retrain_steps == [480, 960]
    assert any(not torch.equal(p, q) for p, q in zip(retrained.parameters(), trained.parameters(), strict=True))
    # identical until the first re-training (at the end of phase 0), different after it
    assert c.phase_ctr[0] == a.phase_ctr[0] and c.block_ctr[:2] == a.block_ctr[:2]
