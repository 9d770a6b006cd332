"""The board's attack names: each builds the suite's attacker, and what applies to an entry is what its policy offers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

from advrec_gym.attacks import PGD, SPECS, Budget, applicable_attacks
from advrec_gym.sb3_adapter import SB3VecEnvAdapter
from agents.bandits import LinUCBPolicy
from agents.baselines import make_baseline
from benchmarks.leaderboard import entries, envs
from benchmarks.leaderboard.envs import EnvConfig
from benchmarks.leaderboard.protocol import BOARD_ATTACKS, ENTRIES, V0_ATTACKS, WHITE_BOX_ATTACKS, quick

TINY_ENV = EnvConfig(num_items=12, num_topics=3, random_embedding_dim=8, max_episode_steps=20)


@pytest.fixture(scope="module")
def setting(one_torch_thread_per_module):
    venv = envs.make_vec(TINY_ENV, 4)
    model = PPO("MlpPolicy", SB3VecEnvAdapter(venv), n_steps=16, batch_size=16, seed=0, device="cpu")
    with torch.no_grad():
        model.policy.action_net.weight.mul_(30.0)
    obs, _ = venv.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(3):
        obs, *_ = venv.step(rng.integers(0, TINY_ENV.num_items, 4))
    return venv, model, obs


def test_every_board_attack_builds_its_suite_attacker_within_the_budget(setting):
    venv, model, obs = setting
    budget = Budget(0.05, "inf")
    for attack, name in BOARD_ATTACKS.items():
        if attack in ("learned", "pa-ad"):
            continue  # trained per cell (tests/benchmarks/test_leaderboard_adversary.py)
        attacker = entries.make_attack(attack, model, budget, seed=0)
        assert isinstance(attacker, SPECS[name].cls), attack
        attacker.bind(
            venv.single_observation_space, venv.unwrapped.embedding_slice, venv.unwrapped.catalogue.embeddings
        )
        delta = attacker.perturb(obs) - obs
        assert np.abs(delta).max() <= 0.05 + 1e-6 and np.abs(delta).max() > 0, attack
    legacy = entries.make_attack("pgd-10", model, budget, seed=0)
    assert isinstance(legacy, PGD) and legacy.steps == 10 and legacy.early_stop  # the v0 board's PGD-10
    with pytest.raises(ValueError, match="unknown board attack 'pgd-100'"):
        entries.make_attack("pgd-100", model, budget, seed=0)


def test_the_applicable_attacks_of_an_entry_are_those_of_its_policy_instances(setting, tiny_catalogue):
    venv, model, obs = setting
    board_name = {v: k for k, v in BOARD_ATTACKS.items()}
    instances = {
        "random": make_baseline("random", venv, seed=0),
        "popularity": make_baseline("popularity", venv, seed=0),
        "nearest-neighbour": make_baseline("nearest-neighbour", venv),
        "linucb": LinUCBPolicy(venv.unwrapped.catalogue.embeddings, seed=0),
        "ppo-item": model,
        "ppo-mlp": model,
        "oracle": make_baseline("oracle", venv),
    }
    for entry, policy in instances.items():
        from_instance = {board_name[a] for a in applicable_attacks(policy, tuple(BOARD_ATTACKS.values()))}
        assert set(ENTRIES[entry].attacks) == from_instance, entry
    assert set(ENTRIES["ppo-item"].white_box) == set(WHITE_BOX_ATTACKS)
    # the board loads the heuristic untrained, with its tuned weights, and the gradient attacks move it
    from agents.heuristics import NearestNeighbour
    from benchmarks.leaderboard.protocol import Row

    heuristic = entries.load_policy(Row("nearest-neighbour"), 0, None, venv, policy_seed=0)
    assert isinstance(heuristic, NearestNeighbour) and heuristic.f == 2.0
    attacker = entries.make_attack("pgd-semantic", heuristic, Budget(0.2, "inf"), seed=0)
    attacker.bind(venv.single_observation_space, venv.unwrapped.embedding_slice, venv.unwrapped.catalogue.embeddings)
    assert (heuristic.predict(attacker.perturb(obs))[0] != heuristic.predict(obs)[0]).any()
    assert "critic" not in ENTRIES["supervised"].attacks and "pgd-semantic" in ENTRIES["supervised"].attacks


def test_the_committed_v0_boards_keep_their_five_attacks():
    assert quick().attacks == V0_ATTACKS == ("random", "fgsm", "pgd-10", "critic-pgd", "learned")
