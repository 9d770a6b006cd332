"""The board's statistics on tiny synthetic tables whose answers are known (the arithmetic is in the comments)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.leaderboard.aggregate import aggregate
from benchmarks.leaderboard.envs import EnvConfig
from benchmarks.leaderboard.protocol import BoardConfig, Row
from benchmarks.leaderboard.stats import (
    RESAMPLES,
    bootstrap_ci,
    paired_permutation_test,
    summarize,
    tied_ranks,
)


def test_the_exact_sign_flip_test_by_hand():
    # d = (1, 2, 3): the 8 sign patterns give sums 6, 4, 2, 0, 0, -2, -4, -6; |mean| >= |6 / 3| for
    # the all-plus and all-minus patterns only: p = 2 / 8
    assert paired_permutation_test([1.0, 2.0, 3.0], [0.0, 0.0, 0.0]) == pytest.approx(0.25)
    # d = (3, 1, 1, -1), sum 4: sums of (+-3) + (+-1) + (+-1) + (+-1) reach |sum| >= 4 when the 3 and at
    # least two of the 1s share a sign: 3 + (1+1+1 | 1+1-1 x3) = 4 patterns per sign of the 3, 8 of 16
    assert paired_permutation_test([3.0, 1.0, 1.0, -1.0], [0.0] * 4) == pytest.approx(8 / 16)
    # ten seeds that all favour a: only the two extreme patterns are as extreme, p = 2 / 1024
    a = np.arange(10.0) + 5.0
    assert paired_permutation_test(a, a - 1.0) == pytest.approx(2 / 1024)
    # identical rows: every pattern is as extreme as the observed zero, p = 1
    assert paired_permutation_test(a, a) == 1.0
    # differences symmetric around 0 cancel: mean 0, p = 1
    assert paired_permutation_test([1.0, -1.0, 2.0, -2.0], [0.0] * 4) == 1.0


def test_the_monte_carlo_sign_flip_test_counts_the_observed_pattern():
    # 20 pairs all favouring a: each random pattern reaches |mean| >= observed with probability 2 / 2**20,
    # so 999 draws from a fixed seed find none and p = (1 + 0) / (1 + 999)
    a = np.ones(20)
    assert paired_permutation_test(a, np.zeros(20), seed=3, resamples=999) == pytest.approx(1 / 1000)
    with pytest.raises(ValueError, match="equal-length"):
        paired_permutation_test([1.0, float("nan")], [0.0, 0.0])


def test_bootstrap_ci_of_a_constant_is_the_constant_and_of_two_values_spans_them():
    rng = np.random.default_rng(0)
    assert bootstrap_ci([4.0] * 6, rng) == (4.0, 4.0)
    low, high = bootstrap_ci([1.0, 3.0], np.random.default_rng(0), resamples=4000)
    # resamples of (1, 3) have medians 1, 2, 2, 3 (each 1/4, 1/2, 1/4): 2.5th pct 1, 97.5th pct 3
    assert (low, high) == (1.0, 3.0)
    with pytest.raises(ValueError, match="at least 2"):
        bootstrap_ci([1.0], rng)
    # summarize is reproducible (fixed seed) and gives no CI for one seed
    assert summarize([1.0, 5.0, 2.0, 8.0]) == summarize([1.0, 5.0, 2.0, 8.0])
    one = summarize([7.0])
    assert (one.median, one.ci_low, one.ci_high) == (7.0, None, None)


def test_the_median_ci_contains_the_true_mean_at_about_the_stated_rate():
    # 400 simulated boards of 10 training seeds drawn from N(3, 1) (symmetric: median = mean = 3);
    # the 95% percentile-bootstrap CI of the median covers 3 in 0.9325 of them (measured with this seed;
    # 0.94 over 1,000 boards of 2,000 resamples: the percentile bootstrap runs a little below its nominal
    # rate at 10 seeds). The binomial SE at 400 boards is 0.012.
    rng = np.random.default_rng(12345)
    hits = 0
    for _ in range(400):
        values = 3.0 + rng.standard_normal(10)
        low, high = bootstrap_ci(values, rng, resamples=1000)
        hits += low <= 3.0 <= high
    assert 0.91 <= hits / 400 <= 0.98, hits / 400
    assert RESAMPLES == 10_000  # what the report states


def test_tied_ranks_group_rows_that_are_not_separated():
    assert tied_ranks([None, 0.01, 0.40, 0.002]) == [(1, False), (2, True), (2, True), (4, False)]
    assert tied_ranks([None, 0.5, 0.5]) == [(1, True), (1, True), (1, True)]
    assert tied_ranks([None, None]) == [(1, True), (1, True)]  # an untested pair is not separated
    assert tied_ranks([None]) == [(1, False)]


SEEDS = tuple(range(10))
TABLE_CONFIG = BoardConfig(
    name="synthetic",
    rows=(Row("ppo-item"), Row("ppo-mlp"), Row("ppo-item", "noise"), Row("oracle")),
    attacks=("random", "fgsm", "learned"),
    attack_eps_scales={"learned": [1.0]},
    main_eps=1.0,
    eps_scales=(1.0, 2.0),
    train_seeds=SEEDS,
    eval_seeds=(0,),
    modes=("sampled",),
    env=EnvConfig(num_items=10, num_topics=2, random_embedding_dim=4),
)


def _records(worst: dict[str, list[float]]) -> list[dict]:
    """Natural 20 for every seed; each attack leaves more than the row's given worst case, fgsm exactly it."""
    out = []
    for row in TABLE_CONFIG.rows:
        for s in SEEDS:

            def rec(attack, eps, value, applicable=True, row=row, s=s):
                return {
                    "row": row.name,
                    "mode": "sampled",
                    "train_seed": s,
                    "attack": attack,
                    "eps": eps,
                    "applicable": applicable,
                    "return_mean": value,
                    "ctr": None if value is None else value / 100,
                }

            out.append(rec("none", 0.0, 20.0))
            if row.entry == "oracle":
                continue
            w = worst[row.name][s]
            out += [rec("random", 1.0, w + 5), rec("fgsm", 1.0, w), rec("learned", 1.0, w + 1)]
            out += [rec("random", 2.0, w + 4), rec("fgsm", 2.0, w - 1)]
    return out


def test_a_clear_separation_and_a_tie_on_a_synthetic_table():
    # ppo-item is 4 above ppo-mlp on every seed (p = 2 / 1024: separated); ppo-mlp and the noise row
    # differ by +-0.1 alternately (mean difference 0: p = 1, tied)
    rng = np.random.default_rng(0)
    base = 6.0 + rng.standard_normal(10)
    worst = {
        "ppo-item": list(base + 4.0),
        "ppo-mlp": list(base),
        "ppo-item + noise": list(base + np.array([0.1, -0.1] * 5)),
    }
    table = aggregate(_records(worst), [], TABLE_CONFIG)
    by = {t["row"]: t for t in table}
    assert by["ppo-item"]["rank"] == 1 and by["ppo-item"]["rank_shown"] == 1 and not by["ppo-item"]["tied"]
    second = min((by["ppo-mlp"], by["ppo-item + noise"]), key=lambda t: t["rank"])
    assert second["p_vs_above"] == pytest.approx(2 / 1024, abs=1e-6)
    third = max((by["ppo-mlp"], by["ppo-item + noise"]), key=lambda t: t["rank"])
    assert third["p_vs_above"] == 1.0
    assert (second["rank_shown"], second["tied"]) == (2, True) and (third["rank_shown"], third["tied"]) == (2, True)
    assert by["oracle"]["rank"] is None
    # the worst case is fgsm's cell (the lowest attack) on every seed; its CI lies within the seeds' range
    item = by["ppo-item"]["worst_main"]
    assert item.median == pytest.approx(float(np.median(base + 4.0)))
    assert min(base + 4.0) <= item.ci_low <= item.median <= item.ci_high <= max(base + 4.0)


def test_a_per_attack_budget_list_changes_what_the_worst_case_is_over():
    worst = {name: [5.0] * 10 for name in ("ppo-item", "ppo-mlp", "ppo-item + noise")}
    t = aggregate(_records(worst), [], TABLE_CONFIG)[0]
    # at eps 1 all three attacks are scored; at eps 2 the learned adversary is not
    assert t["attacks_applied"] == {"1": 3, "2": 2} and t["attacks_main"] == "3/3"
    assert t["cells"]["learned@2"] == "not scored" and t["cells"]["learned@1"].median == 6.0
    assert t["worst"]["2"].median == 4.0 and t["complete"]  # fgsm at eps 2: 5 - 1
