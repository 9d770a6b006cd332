"""The fidelity report's statistics and baselines, and its pipeline in CI size."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.fidelity_baselines import (
    BPRConfig,
    bpr_fit,
    bpr_fold_in,
    gini,
    item_knn_scores,
    pearson,
    per_user_auc,
    ranks,
    spearman,
    top_share,
)


def test_gini_and_top_share_by_hand():
    # counts 0, 0, 0, 10: G = sum (2i - n - 1) x_i / (n sum x) = (2*4 - 5) * 10 / (4 * 10) = 0.75
    assert gini([10, 0, 0, 0]) == pytest.approx(0.75)
    assert gini([3, 3, 3]) == pytest.approx(0.0)
    # 1, 2, 3, 4: (-3*1 - 1*2 + 1*3 + 3*4) / (4 * 10) = 10 / 40
    assert gini([4, 1, 3, 2]) == pytest.approx(0.25)
    assert top_share(np.arange(1, 11), 0.1) == pytest.approx(10 / 55)
    assert top_share(np.arange(1, 11), 0.2) == pytest.approx(19 / 55)


def test_ranks_and_correlations():
    np.testing.assert_array_equal(ranks([10, 30, 20, 20]), [1, 4, 2.5, 2.5])
    assert spearman([1, 2, 3, 4], [1, 8, 27, 64]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(pearson([1, 1, 1], [1, 2, 3]))


def test_per_user_auc_by_hand():
    scores = np.array([[0.9, 0.1, 0.5, 0.3], [0.2, 0.4, 0.6, 0.8]])
    pos = np.array([[True, False, False, False], [True, False, False, False]])
    neg = np.array([[False, True, True, True], [False, True, True, False]])
    # user 0: its positive beats all 3 negatives (AUC 1); user 1: beats none of its 2 (AUC 0)
    auc, n = per_user_auc(scores, pos, neg)
    assert n == 2 and auc == pytest.approx(0.5)
    # a user without positives is left out
    auc, n = per_user_auc(scores, np.array([[True, False, False, False], [False] * 4]), neg)
    assert n == 1 and auc == pytest.approx(1.0)


def test_item_knn_by_hand():
    liked = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 1]], dtype=bool)
    # item columns: a = (1, 1, 0), b = (1, 0, 1), c = (0, 0, 1); cos(a, b) = 1/2, cos(a, c) = 0, cos(b, c) = 1/sqrt(2)
    scores = item_knn_scores(liked, np.array([[True, False, False]]))
    np.testing.assert_allclose(scores, [[0.0, 0.5, 0.0]])
    scores = item_knn_scores(liked, np.array([[False, True, False]]))
    np.testing.assert_allclose(scores, [[0.5, 0.0, 1 / np.sqrt(2)]])


def _planted(num_users=120, num_items=40, seed=0):
    """Two groups of users, each liking 8 of the 20 items of its own half."""
    rng = np.random.default_rng(seed)
    group = np.arange(num_users) % 2
    liked = np.zeros((num_users, num_items), dtype=bool)
    for u in range(num_users):
        half = np.arange(20) + 20 * group[u]
        liked[u, rng.choice(half, size=8, replace=False)] = True
    return liked, group


def test_bpr_learns_planted_groups_and_is_seeded():
    liked, group = _planted()
    config = BPRConfig(dim=8, epochs=20, fold_in_epochs=20, batch_size=256, lr=0.05)
    model, factors = bpr_fit(liked[:100], config)
    again, factors_again = bpr_fit(liked[:100], config)
    np.testing.assert_array_equal(factors, factors_again)
    new = bpr_fold_in(liked[100:], model, config)
    own_half = np.arange(40)[None, :] // 20 == group[100:, None]
    auc, n = per_user_auc(model.scores(new), own_half & ~liked[100:], ~own_half)
    assert n == 20 and auc > 0.95


@pytest.mark.slow
def test_the_pipeline_in_ci_size(tmp_path, small_catalogue_cache_dir):
    """The whole report on the full-size synthetic set with few steps (encodes 1,663 items once)."""
    from advrec_gym.movielens_synthetic import generate_movielens
    from benchmarks.fidelity import main

    path = generate_movielens(tmp_path / "ml", 0)
    out = tmp_path / "fidelity.json"
    result = main(["--quick", "--path", str(path), "--out", str(out), "--cache-dir", str(small_catalogue_cache_dir)])
    assert json.loads(out.read_text())["ranking"] == json.loads(json.dumps(result["ranking"]))
    rows = {r["model"]: r for r in result["ranking"]}
    assert set(rows) == {"simulator (fold-in)", "popularity", "item-kNN", "BPR-MF (fold-in)"}
    assert all(0.5 < r["auc"] <= 1.0 and r["users"] > 150 for r in rows.values())
    assert rows["simulator (fold-in)"]["auc"] > rows["popularity"]["auc"] - 0.02
    real = result["click_distribution"][0]
    assert 0.60 <= real["gini"] <= 0.66  # the training users' rating counts
    assert result["protocol"]["train_users"] + result["protocol"]["test_users"] == 943
    assert 0.0 < result["click_distribution"][2]["ctr"] < 1.0
    assert result["embedding_geometry"]["same_primary"] > result["embedding_geometry"]["cross_primary"]
