"""Fine-tuning the click model against edited item texts (rho share, consistency loss), on the 30-item setup."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advrec_gym.attacks.text import GreedyWordSearch, TextBudget
from advrec_gym.attacks.text.edits import Edit, tokens
from agents.supervised.text_adversarial import (
    TextAdversarialConfig,
    attack_pool,
    click_model_scorer,
    consistency_gap,
)
from agents.supervised.train import OptimizationConfig, train

FAST = OptimizationConfig(epochs=1, batch_size=128, patience=5, progress=False, encoder_lr=2e-4, seed=0)
PROMO = ("acclaimed", "must-see", "award-winning")


def promoted(text: str, words=PROMO) -> str:
    """``text`` with promotional words put first (inside the 16 tokens the test's tower reads)."""
    toks = tokens(text)
    for w in words:
        toks = Edit("ins", 0, w).apply(toks)
    return " ".join(toks)


def test_bad_config():
    with pytest.raises(ValueError, match="rho"):
        TextAdversarialConfig(rho=1.5, pool={0: ("x",)})
    with pytest.raises(ValueError, match="empty pool"):
        TextAdversarialConfig(rho=0.2, pool={})
    with pytest.raises(ValueError, match="consistency"):
        TextAdversarialConfig(rho=0.2, pool={0: ("x",)}, consistency=-1.0)


@pytest.mark.slow
def test_rho_zero_is_clean_training(make_model, splits30):
    a, b = make_model(seed=0), make_model(seed=0)
    data = splits30.train.subset(np.arange(256))
    train(a, data, splits30.validation, FAST)
    train(b, data, splits30.validation, FAST, TextAdversarialConfig(rho=0.0))
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(x, y), name


@pytest.mark.slow
def test_consistency_pulls_rewrites_to_their_originals(make_model, splits30, cat30):
    rows = list(range(0, 30, 2))  # half the items get adversarial-looking rewrites in training
    pool = {r: (promoted(cat30.texts[r]),) for r in rows}
    held_out = {r: promoted(cat30.texts[r]) for r in range(1, 30, 2)}  # the same edit on items never seen edited
    clean, defended = make_model(seed=0), make_model(seed=0)
    gap0 = consistency_gap(clean, held_out)
    data, cfg = splits30.train.subset(np.arange(512)), OptimizationConfig(**{**FAST.__dict__, "epochs": 2})
    train(clean, data, splits30.validation, cfg)
    result = train(
        defended, data, splits30.validation, cfg, TextAdversarialConfig(rho=0.5, pool=pool, consistency=20.0)
    )
    assert result.best_epoch >= 1  # early stopping kept a trained epoch
    gap_clean, gap_defended = consistency_gap(clean, held_out), consistency_gap(defended, held_out)
    assert gap_defended < 0.85 * gap_clean and gap_defended < 0.85 * gap0


@pytest.mark.slow
def test_attack_pool_rewrites_against_the_model(make_model, splits30):
    model = make_model(seed=0)
    attack = GreedyWordSearch(TextBudget(max_edits=1, min_similarity=0.5), positions=1, words=2)
    obs = splits30.validation.observations[:32]
    pool = attack_pool(attack, model, obs, [0, 1])
    assert set(pool) <= {0, 1} and pool
    scorer = click_model_scorer(model)
    vectors = model.catalogue_vectors().cpu().numpy()
    for row, (text,) in pool.items():
        assert TextBudget(max_edits=1, min_similarity=0.5).check(model.texts[row], text).admissible
        ids, mask = model.item_tower.tokenize([text])
        with torch.no_grad():
            v = model.item_tower(model.item_tower.embed(ids), mask).numpy()
        before = scorer.scores(obs, vectors[row : row + 1], np.array([row]))
        after = scorer.scores(obs, v, np.array([row]))
        assert after.mean() > before.mean()  # the rewrite raises the item's score for the probe users
