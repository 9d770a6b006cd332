"""The board's statistics against hand-computed values (the arithmetic is in the comments)."""

from __future__ import annotations

import pytest

from benchmarks.leaderboard.aggregate import aggregate, area_under_curve, summarize
from benchmarks.leaderboard.envs import EnvConfig
from benchmarks.leaderboard.protocol import BoardConfig, Row


def test_median_and_iqr_use_linear_interpolation():
    s = summarize([4.0, 1.0, 3.0, 2.0])
    # sorted 1, 2, 3, 4: median (2 + 3) / 2 = 2.5; the 25th percentile sits at position 0.25 * 3 = 0.75,
    # 1 + 0.75 * (2 - 1) = 1.75; the 75th at 2.25: 3 + 0.25 * (4 - 3) = 3.25
    assert (s.median, s.q25, s.q75, s.n) == (2.5, 1.75, 3.25, 4)
    assert summarize([None, float("nan")]) is None
    assert summarize([7.0, None]).n == 1


def test_area_under_the_curve_is_the_mean_over_the_budget_range():
    # trapezoids: (10 + 8) / 2 * 0.5 = 4.5; (8 + 6) / 2 * 0.5 = 3.5; (6 + 2) / 2 * 1 = 4; sum 12; / eps_max 2 = 6
    assert area_under_curve([0.0, 0.5, 1.0, 2.0], [10.0, 8.0, 6.0, 2.0]) == pytest.approx(6.0)
    # no attack hurts: the area equals the natural return
    assert area_under_curve([0.0, 1.0, 2.0], [5.0, 5.0, 5.0]) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="start at 0"):
        area_under_curve([0.5, 1.0], [1.0, 1.0])


CONFIG = BoardConfig(
    name="hand",
    rows=(Row("ppo-item"), Row("random"), Row("oracle")),
    attacks=("random", "fgsm"),
    main_eps=1.0,
    eps_scales=(0.5, 1.0, 2.0),  # grid 0.5, 1, 2
    train_seeds=(0, 1, 2),
    eval_seeds=(0,),
    modes=("sampled",),
    env=EnvConfig(num_items=10, num_topics=2, random_embedding_dim=4),
)


def _rec(row: Row, seed: int, attack: str, eps: float, value: float | None, applicable: bool = True) -> dict:
    return {
        "row": row.name,
        "mode": "sampled",
        "train_seed": seed,
        "attack": attack,
        "eps": eps,
        "applicable": applicable,
        "return_mean": value,
        "ctr": None if value is None else value / 100,
    }


# Returns per training seed: natural, then (random, fgsm) at eps 0.5 / 1 / 2.
PPO = {
    0: (10.0, {0.5: (9.0, 8.0), 1.0: (9.0, 6.0), 2.0: (8.0, 2.0)}),
    1: (12.0, {0.5: (12.0, 9.0), 1.0: (11.0, 6.0), 2.0: (10.0, 3.0)}),
    2: (8.0, {0.5: (7.0, 7.5), 1.0: (6.0, 7.0), 2.0: (6.0, 5.0)}),
}
RANDOM = {
    0: (3.0, {0.5: 3.0, 1.0: 2.0, 2.0: 3.0}),
    1: (4.0, {0.5: 4.0, 1.0: 4.0, 2.0: 1.0}),
    2: (5.0, {0.5: 5.0, 1.0: 5.0, 2.0: 5.0}),
}


def _records(drop: tuple | None = None) -> list[dict]:
    ppo, rnd, oracle = CONFIG.rows
    out = []
    for s, (nat, cells) in PPO.items():
        out.append(_rec(ppo, s, "none", 0.0, nat))
        for e, (r, f) in cells.items():
            out += [_rec(ppo, s, "random", e, r), _rec(ppo, s, "fgsm", e, f)]
    for s, (nat, cells) in RANDOM.items():
        out.append(_rec(rnd, s, "none", 0.0, nat))
        for e, r in cells.items():
            out += [_rec(rnd, s, "random", e, r), _rec(rnd, s, "fgsm", e, None, applicable=False)]
    for s in CONFIG.train_seeds:
        out.append(_rec(oracle, s, "none", 0.0, 30.0 + s))
    if drop is not None:
        out = [r for r in out if (r["row"], r["train_seed"], r["attack"], r["eps"]) != drop]
    return out


TRAINING = [{"row": "ppo-item", "env_steps": n, "wall_s": w} for n, w in ((1000, 10.0), (1000, 12.0), (1200, 20.0))] + [
    {"row": "random", "env_steps": 0, "wall_s": 0.0}
] * 3


def test_torch_row_statistics_by_hand():
    table = aggregate(_records(), TRAINING, CONFIG)
    ppo = next(t for t in table if t["row"] == "ppo-item")
    # natural over seeds 10, 12, 8 -> median 10, q25 9 (8 + 0.5 * 2), q75 11
    assert (ppo["natural"].median, ppo["natural"].q25, ppo["natural"].q75) == (10.0, 9.0, 11.0)
    # worst at eps 1 per seed = min(random, fgsm): seed 0 min(9, 6) = 6, seed 1 min(11, 6) = 6, seed 2 min(6, 7) = 6
    assert ppo["worst_main"].median == 6.0 and ppo["worst_main"].q25 == 6.0
    # worst at eps 2: 2, 3, 5 -> median 3
    assert ppo["worst"]["2"].median == 3.0
    # drop per seed 1 - 6/10 = 0.4, 1 - 6/12 = 0.5, 1 - 6/8 = 0.25 -> median 0.4, q25 0.325, q75 0.45
    assert ppo["drop"].median == pytest.approx(0.4)
    assert ppo["drop"].q25 == pytest.approx(0.325) and ppo["drop"].q75 == pytest.approx(0.45)
    # AUC per seed (eps 0, .5, 1, 2; worst 8/6/2 for seed 0):
    #   seed 0: ((10+8)*.5 + (8+6)*.5 + (6+2)*1) / 2 / 2 = (9 + 7 + 8) / 4 = 6.0
    #   seed 1: worst 9, 6, 3: ((12+9)*.5 + (9+6)*.5 + (6+3)*1) / 4 = (10.5 + 7.5 + 9) / 4 = 6.75
    #   seed 2: worst 7, 6, 5: ((8+7)*.5 + (7+6)*.5 + (6+5)*1) / 4 = (7.5 + 6.5 + 11) / 4 = 6.25
    assert ppo["auc"].median == pytest.approx(6.25)
    # a single attack cell: fgsm at eps 1 over seeds 6, 6, 7 -> median 6
    assert ppo["cells"]["fgsm@1"].median == 6.0
    assert ppo["worst_over"] == "all attacks" and ppo["complete"]
    # training cost: median of (1000, 1000, 1200) steps and (10, 12, 20) s
    assert (ppo["train_env_steps"], ppo["train_wall_s"]) == (1000.0, 12.0)


def test_black_box_row_is_worst_over_the_applicable_attacks_only():
    table = aggregate(_records(), TRAINING, CONFIG)
    rnd = next(t for t in table if t["row"] == "random")
    assert rnd["cells"]["fgsm@1"] == "n/a"
    assert rnd["worst_over"].startswith("black-box only")
    # worst at eps 1 = the random-noise cell: 2, 4, 5 -> median 4; drop 1 - 2/3, 0, 0 -> median 0
    assert rnd["worst_main"].median == 4.0
    assert rnd["drop"].median == pytest.approx(0.0)
    oracle = next(t for t in table if t["row"] == "oracle")
    assert oracle["worst_main"] is None and oracle["rank"] is None and oracle["natural"].median == 31.0


def test_ranking_is_by_worst_case():
    table = aggregate(_records(), TRAINING, CONFIG)
    ranks = {t["row"]: t["rank"] for t in table}
    assert ranks == {"ppo-item": 1, "random": 2, "oracle": None}  # worst 6 > 4; the oracle is not ranked


def test_a_missing_cell_drops_that_seed_from_the_worst_case():
    # without seed 1's fgsm at eps 1, seed 1 has no worst case at eps 1 (never a minimum over a subset)
    table = aggregate(_records(drop=("ppo-item", 1, "fgsm", 1.0)), TRAINING, CONFIG)
    ppo = next(t for t in table if t["row"] == "ppo-item")
    assert not ppo["complete"]
    assert ppo["worst_main"].n == 2 and ppo["worst_main"].median == 6.0  # seeds 0 and 2: 6, 6
    assert ppo["auc"].n == 2
    assert ppo["cells"]["fgsm@1"].n == 2


def test_a_board_with_no_worst_case_yet_ranks_nobody():
    # only natural cells so far (a board just started): a table with no ranks, not an error
    natural_only = [r for r in _records() if r["attack"] == "none"]
    table = aggregate(natural_only, TRAINING, CONFIG)
    assert [t["rank"] for t in table] == [None, None, None]
    assert next(t for t in table if t["row"] == "ppo-item")["natural"].n == 3
