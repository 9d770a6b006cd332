"""A frozen item tower is encoded once and reused, not re-run on every batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.slow  # the real encoder (the supervised fixtures' item tower)


def _count_tower_calls(model):
    calls = []
    forward = model.item_tower.forward

    def counted(*args, **kwargs):
        calls.append(args[0].shape[0])
        return forward(*args, **kwargs)

    model.item_tower.forward = counted
    return calls


def test_frozen_tower_runs_once_and_gives_the_eval_vectors(make_model, splits30):
    model = make_model(freeze="encoder", dropout=0.1)
    assert model.item_tower_frozen
    calls = _count_tower_calls(model)
    data = splits30.train
    obs, items = torch.as_tensor(data.observations[:64]), torch.as_tensor(data.items[:64])
    model.train()
    model(obs, items)
    assert sum(calls) == model.num_items  # the whole catalogue, once
    for _ in range(3):
        model(obs, items)
    assert sum(calls) == model.num_items  # not re-run per batch
    # the logits are <user(obs), v_item> + b with the item vectors of the eval-mode tower (dropout off)
    model.eval()
    with torch.no_grad():
        vectors = model.catalogue_vectors()
        expected = (model.user_tower(obs) * vectors[items]).sum(-1) + model.bias
        torch.testing.assert_close(model(obs, items), expected)


def test_loading_weights_drops_the_copy(make_model, splits30):
    model = make_model(freeze="encoder")
    data = splits30.train
    obs, items = torch.as_tensor(data.observations[:8]), torch.as_tensor(data.items[:8])
    model.eval()
    before = model(obs, items).detach()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    name = next(
        k for k in state if k.startswith("item_tower.transformer") and k.endswith("weight") and state[k].ndim == 2
    )
    state[name] = state[name] * 0.5
    model.load_state_dict(state)
    after = model(obs, items).detach()
    assert not torch.allclose(before, after)
    vectors = model.catalogue_vectors()
    torch.testing.assert_close(after, (model.user_tower(obs) * vectors[items]).sum(-1) + model.bias)


def test_a_trainable_tower_runs_every_batch(make_model, splits30):
    model = make_model(freeze="top-only")
    assert not model.item_tower_frozen
    calls = _count_tower_calls(model)
    data = splits30.train
    obs, items = torch.as_tensor(data.observations[:16]), torch.as_tensor(data.items[:16])
    model(obs, items)
    model(obs, items)
    assert len(calls) == 2


def test_a_user_side_evaluation_encodes_the_catalogue_once(make_model, splits30):
    """Robust evaluation on the user side: the items are not attacked, so their vectors are computed
    once for all batches (30 items), not in every batch, and the logits are those of the clean model
    when the budget is 0."""
    from agents.supervised.evaluate import predict_logits, robust_logits

    model = make_model(freeze="top-only")
    calls = _count_tower_calls(model)
    data = splits30.test
    logits = robust_logits(model, data, side="user", attack="pgd", eps=0.0, steps=2, batch_size=32)
    assert len(data) > 3 * 32 and sum(calls) == model.num_items
    np.testing.assert_allclose(logits, predict_logits(model, data), atol=1e-5)
