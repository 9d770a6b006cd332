"""The protocol's grid: presets, applicability of attacks, disjoint seeds, and errors that name the option."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from benchmarks.leaderboard import envs
from benchmarks.leaderboard.aggregate import worst_over
from benchmarks.leaderboard.protocol import ATTACKS, ENTRIES, BoardConfig, Row, full, quick
from benchmarks.leaderboard.runner import eval_cells, train_cells


def test_full_board_rows_and_grid():
    config = full()
    names = [r.name for r in config.rows]
    # the training-free rows: random, popularity and the nearest-neighbour heuristic (PPO's bar on v1)
    assert names[:4] == ["random", "popularity", "nearest-neighbour", "linucb"] and names[-1] == "oracle"
    # both PPO heads with none / noise / pgd and atla at rho 0.2 and 1.0 / SA-PPO
    suffixes = ("", " + noise", " + pgd (rho=0.2)", " + pgd (rho=1)", " + atla (rho=0.2)", " + atla (rho=1)", " + sa")
    for entry in ("ppo-mlp", "ppo-item"):
        for suffix in suffixes:
            assert entry + suffix in names
    assert len(config.rows) == 4 + 14 + 1
    assert config.eps_grid == (0.002, 0.004, 0.008)  # 0.5x, 1x, 2x the main L-inf eps
    assert len(config.train_seeds) == 10 and config.modes == ("sampled", "greedy")
    assert full("2").eps_grid == (0.125, 0.25, 0.5)
    # the protocol: 5 evaluation seeds x 100 episodes, one episode per evaluation user, on AdvRec-v1;
    # the learned best response only at the main budget
    assert len(config.eval_seeds) * config.episodes == 500 and config.slots == config.episodes
    assert config.env.env_id == "AdvRec-v1"
    assert config.train_steps == 2_000_000 and config.num_envs == 16  # to plateau, at the tuned setting
    assert config.attack_eps("learned") == (0.004,) and config.attack_eps("fgsm") == (0.002, 0.004, 0.008)
    assert config.attack_eps("pa-ad") == (0.004,) and config.attack_eps("query") == (0.002, 0.004, 0.008)
    # the v1 board scores the whole suite: everything but the two learned best responses at every budget
    assert config.attacks == ATTACKS
    assert config.attacks_at(0.002) == tuple(a for a in ATTACKS if a not in ("learned", "pa-ad"))
    assert "supervised" in [r.entry for r in full(include_supervised=True).rows]


def test_quick_board_is_small():
    config = quick()
    assert len(config.train_seeds) == 3 and config.env.num_items == 200
    # cells: rows x seeds x (natural + 4 attacks x 3 eps + the learned adversary at the main eps)
    assert len(eval_cells(config)) == len(config.rows) * 3 * (1 + 4 * 3 + 1)
    assert len(train_cells(config)) == len(config.rows) * 3


def test_which_attacks_apply_is_read_off_each_entrys_policy():
    assert Row("ppo-item").applicable("fgsm") and Row("ppo-mlp", "pgd", 0.2).applicable("critic-pgd")
    assert worst_over(Row("ppo-item"), ATTACKS) == "all attacks"
    # LinUCB's scores are differentiable in the observation: every white-box attack but the critic's applies
    assert Row("linucb").applicable("pgd-10") and Row("linucb").applicable("pgd-semantic")
    assert not Row("linucb").applicable("critic") and not Row("linucb").applicable("critic-pgd")
    # the heuristic's scores are differentiable in the observation: the same attacks as LinUCB's
    assert ENTRIES["nearest-neighbour"].attacks == ENTRIES["linucb"].attacks and "query" in ENTRIES["linucb"].attacks
    # the supervised click model has an action distribution but no critic
    assert Row("supervised").applicable("pgd-topk") and not Row("supervised").applicable("critic-pgd")
    assert worst_over(Row("supervised"), ATTACKS) == worst_over(Row("linucb"), ATTACKS)
    assert worst_over(Row("supervised"), ATTACKS).endswith("(critic-pgd, critic n/a)")
    # the baselines' scores ignore the observation: only the black-box and query-only attacks apply
    assert ENTRIES["random"].attacks == ENTRIES["popularity"].attacks == ("random", "learned", "query")
    assert not Row("popularity").applicable("fgsm") and Row("random").applicable("query")
    assert worst_over(Row("random"), ATTACKS).startswith("black-box only (random, learned, query;")
    assert not Row("oracle").applicable("random") and Row("oracle").applicable("none")


def test_training_and_evaluation_users_never_meet():
    config = full()
    train = {envs.train_env_seed(s) + i for s in config.train_seeds for i in range(config.num_envs)}
    evals = {envs.eval_env_seed(s) + i for s in config.eval_seeds for i in range(config.num_envs)}
    assert not train & evals
    assert envs.derive_seed("policy", "linucb", 0) == envs.derive_seed("policy", "linucb", 0)
    assert envs.derive_seed("policy", "linucb", 0) != envs.derive_seed("policy", "linucb", 1)


def test_row_names_and_slugs():
    row = Row("ppo-item", "pgd", 0.2)
    assert (row.name, row.slug) == ("ppo-item + pgd (rho=0.2)", "ppo-item__pgd-0.2")
    assert (Row("ppo-mlp", "sa").name, Row("ppo-mlp", "sa").slug) == ("ppo-mlp + sa", "ppo-mlp__sa")


def test_an_sa_row_trains_sappo_at_the_main_budget(tmp_path):
    from benchmarks.leaderboard.entries import trainer_config

    config = full()
    train = trainer_config(Row("ppo-item", "sa"), 3, config, tmp_path)
    assert (train.defence, train.rho, train.eps, train.norm) == ("sa", None, config.main_eps, "inf")
    assert train.sa_kappa > 0 and train.recommender_steps == config.train_steps


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"entry": "linucbb"}, ValueError, "Did you mean 'linucb'"),
        ({"entry": "ppo-item", "defence": "pgdd"}, ValueError, "Did you mean 'pgd'"),
        ({"entry": "ppo-item", "defence": "pgd"}, ValueError, "needs rho"),
        ({"entry": "ppo-item", "defence": "atla", "rho": 1.5}, ValueError, r"rho must be .* \[0.0, 1.0\]"),
        ({"entry": "random", "defence": "noise"}, ValueError, "takes no defence"),
        ({"entry": "ppo-item", "rho": 0.2}, ValueError, "takes none"),
    ],
)
def test_bad_rows_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        Row(**kwargs)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"attacks": ("random", "pgd-1")}, "Did you mean 'pgd-10'"),
        ({"eps_scales": (0.5, 2.0)}, "contain 1.0"),
        ({"train_seeds": (0, 0)}, "unique"),
        ({"num_envs": 1001}, "num_envs"),
        ({"modes": ("greddy",)}, "Did you mean 'greedy'"),
        ({"main_eps": 0.0}, "main_eps"),
        ({"trainer_overrides": {"eps": 0.1}}, "may not set"),
        ({"rows": (Row("random"), Row("random"))}, "unique"),
        ({"attack_eps_scales": {"lerned": [1.0]}}, "Did you mean 'learned'"),
        ({"attack_eps_scales": {"learned": [3.0]}}, "subset of eps_scales"),
        ({"attack_eps_scales": {"learned": []}}, "non-empty"),
        ({"eval_num_envs": 0}, "eval_num_envs"),
        ({"episodes": 1001}, "episodes"),  # one slot per episode: at most SEED_STRIDE
        ({"block_norm": -1.0}, "block_norm"),
    ],
)
def test_bad_configs_are_named(change, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(quick(), **change)


def test_restricting_to_some_entries():
    config = quick().with_entries(["random", "linucb"])
    assert [r.entry for r in config.rows] == ["random", "linucb"]
    with pytest.raises(ValueError, match="No row"):
        quick().with_entries(["supervised"])
    assert isinstance(config, BoardConfig)


def test_the_env_id_defaults_to_v1_and_is_checked():
    assert envs.EnvConfig().env_id == "AdvRec-v1"
    with pytest.raises(ValueError, match="Did you mean 'AdvRec-v0'"):
        envs.EnvConfig(env_id="AdvRec-v00")


@pytest.mark.parametrize("name", ["main", "l2"])
def test_the_committed_v0_boards_still_parse_and_name_v0(name):
    from benchmarks.leaderboard.cells import TrainCell, train_spec
    from benchmarks.leaderboard.command import load_config

    config = load_config(Path(__file__).resolve().parents[2] / "benchmarks" / "boards" / f"{name}.yaml")
    # their evaluation layout is kept: 32 slots sharing 50 episodes, as when they were computed
    assert config.env.env_id == "AdvRec-v0" and config.slots == 32 and config.episodes == 50
    assert train_spec(config, TrainCell(config.rows[0], 0))["env"]["env_id"] == "AdvRec-v0"


def test_the_v1_pilot_board_is_the_full_protocol_on_fewer_rows_seeds_and_budgets():
    from benchmarks.leaderboard.command import load_config

    pilot = load_config(Path(__file__).resolve().parents[2] / "benchmarks" / "boards" / "v1_pilot.yaml")
    same = ("attacks", "env", "main_eps", "eval_seeds", "episodes", "train_steps", "num_envs", "adversary_steps")
    for key in same:
        assert getattr(pilot, key) == getattr(full(), key), key
    assert [r.entry for r in pilot.rows] == ["nearest-neighbour", "ppo-item"]
    assert pilot.eps_grid == (0.004,) and pilot.train_seeds == (0, 1) and pilot.modes == ("sampled",)
    assert pilot.primary_mode == full().primary_mode
