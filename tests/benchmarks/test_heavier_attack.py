"""benchmarks/heavier_attack.py: HeavyPGD stays in its ball, is seeded, and finds lower objective values
than the clean point and than the suite's FGSM; the script's two stages resume and report a verdict.

One rollout (4,096 steps) of PPO on the default env is the victim; everything else is a handful of episodes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from benchmarks import heavier_attack
from benchmarks.heavier_attack import HeavyPGD

pytestmark = pytest.mark.slow

EPS = 0.004


@pytest.fixture(scope="module")
def run(tiny_ppo_run):
    return tiny_ppo_run


@pytest.fixture(scope="module")
def victim(run):
    """The trained model, its env view and 32 observations along clean rollouts."""
    from agents.training.load import load_players
    from agents.training.players import recommender_view

    loaded = load_players(str(run), eps=EPS, norm="inf")
    view = recommender_view(loaded.config, num_envs=8, evaluation=True)
    obs, _ = view.reset(seed=5)
    batch = []
    for _ in range(4):
        batch.append(obs.copy())
        actions, _ = loaded.recommender.predict(obs, deterministic=False)
        obs, *_ = view.step(actions)
    return loaded.recommender, loaded.config, view, np.concatenate(batch)


def _bound(attacker, view):
    from advrec_gym.attacks.base import env_item_embeddings

    attacker.bind(view.single_observation_space, view.unwrapped.embedding_slice, env_item_embeddings(view))
    return attacker


def _objective(attacker, obs, perturbed):
    sl = attacker.embedding_slice
    x = torch.as_tensor(obs)
    with torch.no_grad():
        clean_logp = heavier_attack._log_probs(attacker.policy, x)
        return attacker.loss(x, sl, torch.as_tensor(perturbed[:, sl]), clean_logp).numpy()


@pytest.mark.parametrize("objective", heavier_attack.OBJECTIVES)
def test_heavy_pgd_stays_in_the_ball_and_beats_the_clean_point_and_fgsm(victim, objective):
    from advrec_gym.attacks import make_attacker
    from agents.training.players import budget_of

    model, config, view, obs = victim
    heavy = _bound(HeavyPGD(model, objective, budget_of(config), steps=20, restarts=2, seed=0), view)
    out = heavy.perturb(obs)
    sl = heavy.embedding_slice
    rest = np.ones(obs.shape[1], dtype=bool)
    rest[sl] = False
    assert np.array_equal(out[:, rest], obs[:, rest])  # only the embedding slice moves
    assert np.abs(out - obs).max() <= EPS + 1e-6
    assert np.abs(out - obs).max() > 0.5 * EPS  # it does move
    low, high = view.single_observation_space.low[sl], view.single_observation_space.high[sl]
    assert np.all((out[:, sl] >= np.minimum(obs[:, sl], low)) & (out[:, sl] <= np.maximum(obs[:, sl], high)))

    at_heavy, at_clean = _objective(heavy, obs, out), _objective(heavy, obs, obs)
    assert np.all(at_heavy <= at_clean + 1e-6) and at_heavy.mean() < at_clean.mean()
    fgsm = _bound(make_attacker("fgsm", model, budget_of(config), seed=0), view)
    assert at_heavy.mean() < _objective(heavy, obs, fgsm.perturb(obs)).mean()


def test_heavy_pgd_is_seeded(victim):
    from agents.training.players import budget_of

    model, config, view, obs = victim
    make = lambda seed: _bound(HeavyPGD(model, "kl", budget_of(config), steps=5, restarts=3, seed=seed), view)  # noqa: E731
    assert np.array_equal(make(1).perturb(obs), make(1).perturb(obs))
    assert not np.array_equal(make(1).perturb(obs), make(2).perturb(obs))


def test_heavy_pgd_refuses_what_it_does_not_attack(victim):
    model, config, *_ = victim
    with pytest.raises(ValueError, match="objective must be one of"):
        HeavyPGD(model, "return", eps=EPS)
    with pytest.raises(ValueError, match="L-inf"):
        HeavyPGD(model, "kl", eps=0.1, norm="2")


def _args(run, out, *extra):
    return ["--run", str(run), "--out", str(out), "--episodes", "3", "--steps", "3", "--restarts", "2",
            "--suite-attacks", "fgsm", "pgd-topk", *extra]  # fmt: skip


def test_the_stages_resume_and_the_report_gives_a_verdict(run, tmp_path, stages_resume_and_refuse):
    out = tmp_path / "out"
    heavier_attack.main(_args(run, out, "--stage", "suite"))  # one stage: no report yet
    assert sorted(p.name for p in out.iterdir()) == ["suite.json"]
    heavier_attack.main(_args(run, out))
    suite = json.loads((out / "suite.json").read_text())
    assert [r["attack"] for r in suite["rows"]] == ["clean", "clean", "fgsm", "pgd-topk"]
    heavy = json.loads((out / "heavy.json").read_text())
    assert [r["attack"] for r in heavy["rows"]] == ["heavy-mass", "heavy-kl", "heavy-value"]
    assert all(len(r["returns"]) == r["episodes"] == 3 for r in heavy["rows"])
    text = (out / "report.md").read_text()
    assert "heavy-kl" in text and ("**The suite holds**" in text or "**The suite does not hold**" in text)

    stages_resume_and_refuse(heavier_attack.main, out, _args(run, out), _args(run, out, "--steps", "4"))


def test_a_missing_run_is_named_and_nothing_is_written(tmp_path, capsys):
    with pytest.raises(SystemExit):
        heavier_attack.main(["--run", str(tmp_path / "nothing"), "--out", str(tmp_path / "out")])
    assert "no trained run" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
