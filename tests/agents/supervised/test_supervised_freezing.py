"""Each freezing strategy leaves exactly the intended transformer parameters frozen (counted by hand)."""

from __future__ import annotations

import pytest

from agents.supervised.freezing import FREEZE_STRATEGIES, apply_freeze

# all-MiniLM-L6-v2: BERT, hidden 384, 6 layers, intermediate 1536, vocabulary 30522, 512 positions.
# embeddings: word 30522*384 + position 512*384 + type 2*384 + LayerNorm 2*384
EMBEDDINGS = 30522 * 384 + 512 * 384 + 2 * 384 + 2 * 384  # 11,918,592
# one layer: q, k, v and attention output (384*384 + 384 each), LayerNorm, 384->1536, 1536->384, LayerNorm
LAYER = 4 * (384 * 384 + 384) + 2 * 384 + (384 * 1536 + 1536) + (1536 * 384 + 384) + 2 * 384  # 1,774,464
TOTAL = EMBEDDINGS + 6 * LAYER  # 22,565,376 (the unused pooler is removed by the item tower)

EXPECTED_FROZEN = {
    ("none", 2): 0,
    ("embeddings", 2): EMBEDDINGS,
    ("bottom-k", 2): EMBEDDINGS + 2 * LAYER,
    ("bottom-k", 5): EMBEDDINGS + 5 * LAYER,
    ("top-only", 2): EMBEDDINGS + 4 * LAYER,
    ("top-only", 1): EMBEDDINGS + 5 * LAYER,
    ("encoder", 2): TOTAL,
}


@pytest.fixture(scope="module")
def model(cat30, encoder16):
    from agents.supervised.model import TwoTowerClickModel

    return TwoTowerClickModel.for_catalogue(cat30, encoder=encoder16, max_length=16, device="cpu")


@pytest.mark.parametrize(("strategy", "k"), sorted(EXPECTED_FROZEN))
def test_strategy_freezes_exactly_the_intended_parameters(model, strategy, k):
    transformer = model.item_tower.transformer
    report = apply_freeze(transformer, strategy, k)
    assert report.frozen == EXPECTED_FROZEN[(strategy, k)]
    assert report.total == TOTAL
    frozen_names = {n for n, p in transformer.named_parameters() if not p.requires_grad}
    frozen_layers = {int(n.split(".")[2]) for n in frozen_names if n.startswith("encoder.layer.")}
    expected_layers = {
        "none": set(),
        "embeddings": set(),
        "bottom-k": set(range(k)),
        "top-only": set(range(6 - k)),
        "encoder": set(range(6)),
    }[strategy]
    assert frozen_layers == expected_layers
    assert any(n.startswith("embeddings.") for n in frozen_names) == (strategy != "none")
    # the user tower and the score bias always train
    assert all(p.requires_grad for p in model.user_tower.parameters()) and model.bias.requires_grad


def test_model_reports_its_strategy(make_model):
    report = make_model(freeze="top-only", freeze_layers=2).freeze_report
    assert (report.frozen, report.trainable) == (EMBEDDINGS + 4 * LAYER, 2 * LAYER)


def test_unknown_strategy_suggests_the_closest(model):
    with pytest.raises(ValueError, match="freeze must be one of .*Did you mean 'top-only'"):
        apply_freeze(model.item_tower.transformer, "top")
    assert "bottom-k" in FREEZE_STRATEGIES


def test_layer_count_out_of_range(model):
    with pytest.raises(ValueError, match=r"freeze_layers must be an int in \[1, 6\], got freeze_layers=7"):
        apply_freeze(model.item_tower.transformer, "bottom-k", 7)
