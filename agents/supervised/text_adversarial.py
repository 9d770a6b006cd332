"""Adversarial *text* examples for the click model: fine-tuning against realisable item-text edits.

The token-embedding perturbations of :mod:`.adversarial` are a continuous stand-in; here the item
tower trains on real rewrites produced by the text attacks (:mod:`advrec_gym.attacks.text`): a
``pool`` maps catalogue rows to adversarial rewrites of their texts (made against the model before
fine-tuning). In each batch, up to ``round(rho * batch_size)`` examples whose item has rewrites see a
rewrite (drawn with the training's torch generator) in place of the original text, **with the
original label**: the user did not change, so neither does their click. A consistency term pulls
each rewrite's item vector toward its original text's (a stop-gradient target),

    loss = BCE(mixed batch) + consistency * mean_items ||v(edited) - sg(v(original))||^2,

so that edited texts land near their originals (or lose their pull). ``rho = 0`` is clean training.
The training loop, freezing strategies and early stopping are :func:`agents.supervised.train.train`'s;
this config plugs into it as its ``adversarial`` argument.

:func:`click_model_scorer` is the click model as the text attacks see it (scores linear in the item
vector), and :func:`attack_pool` runs a text attack over many items to build the pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from advrec_gym._validation import check_float
from advrec_gym.attacks.text.victim import LinearItemScorer
from agents.supervised.model import TwoTowerClickModel


def click_model_scorer(model: TwoTowerClickModel, temperature: float = 1.0) -> LinearItemScorer:
    """``score = (<user_tower(o), v_i> + bias) / temperature``: what :class:`~agents.supervised.policy.ClickModelPolicy`
    samples from (its softmax), as a :class:`~advrec_gym.attacks.text.LinearItemScorer`."""
    temperature = check_float("temperature", temperature, low=0.0, low_open=True)

    def queries(obs: torch.Tensor) -> torch.Tensor:
        was_training = model.training
        model.eval()
        try:
            return model.user_tower(obs) / temperature
        finally:
            model.train(was_training)

    bias = np.full(model.num_items, float(model.bias.detach()) / temperature)
    return LinearItemScorer(queries, bias, device=model.device)


@dataclass(frozen=True)
class TextAdversarialConfig:
    """Edited item texts mixed into click-model training.

    Attributes:
        rho: share of each batch shown an edited text, in [0, 1] (the original design keeps <= 0.2).
        pool: catalogue row -> adversarial rewrites of its text.
        consistency: weight of the consistency loss (>= 0; 0 trains on the edited texts' labels only).
    """

    rho: float = 0.2
    pool: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    consistency: float = 1.0

    def __post_init__(self):
        check_float("rho", self.rho, low=0.0, high=1.0)
        check_float("consistency", self.consistency, low=0.0)
        if not isinstance(self.pool, Mapping):
            raise TypeError(f"pool must map catalogue rows to rewrites, got {type(self.pool).__name__}.")
        if self.rho > 0 and not any(self.pool.values()):
            raise ValueError("rho > 0 needs a pool with at least one rewrite (see attack_pool), got an empty pool.")
        object.__setattr__(self, "pool", {int(r): tuple(v) for r, v in self.pool.items() if len(v)})

    def num_adversarial(self, batch_size: int) -> int:
        return int(round(self.rho * batch_size))

    def batch_logits(
        self, model: TwoTowerClickModel, obs, items, clicks, generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Click logits of the whole batch (its first examples with pooled items on edited texts) and the
        consistency loss; called by :func:`~agents.supervised.train.train`'s epoch loop."""
        k = self.num_adversarial(len(items))
        pooled = torch.tensor([int(i) in self.pool for i in items.tolist()], device=items.device)
        chosen = torch.nonzero(pooled).flatten()[:k]
        logits = model(obs, items)
        if chosen.numel() == 0:
            return logits, torch.zeros((), device=logits.device)
        rows = items[chosen].tolist()
        draws = torch.randint(0, 1 << 30, (len(rows),), generator=generator, device=generator.device).tolist()
        texts = [self.pool[r][d % len(self.pool[r])] for r, d in zip(rows, draws, strict=True)]
        ids, mask = model.item_tower.tokenize(texts)
        ids, mask = ids.to(model.device), mask.to(model.device)
        edited = model.item_tower(model.item_tower.embed(ids), mask)
        users = model.user_vectors(obs[chosen])
        logits = logits.index_put((chosen,), (users * edited).sum(-1) + model.bias)
        extra = torch.zeros((), device=logits.device)
        if self.consistency > 0:
            batch = model.item_batch(items[chosen])
            with torch.no_grad():  # a stop-gradient target: the rewrite moves toward its original
                target = model.item_vectors(batch)[batch.inverse]
            extra = self.consistency * (edited - target).pow(2).sum(-1).mean()
        return logits, extra


def attack_pool(
    attack: Any, model: TwoTowerClickModel, observations: np.ndarray, rows, *, temperature: float = 1.0, encoder=None
) -> dict[int, tuple[str, ...]]:
    """Rewrites of ``rows`` made by a text ``attack`` against ``model`` (its own item tower encodes them).

    Args:
        attack: a :class:`~advrec_gym.attacks.text.TextAttack` (its budget's targets are ignored:
            ``rows`` are attacked).
        model: the click model (its catalogue texts are the originals).
        observations: the attacker's probe observations (the model's observation layout).
        rows: catalogue rows to rewrite.
        temperature: the sampled policy's temperature (the objective is its softmax mass).
        encoder: a :class:`~advrec_gym.attacks.text.CandidateEncoder` over ``model.item_tower`` to reuse.
    """
    from advrec_gym.attacks.text import CandidateEncoder, PromotionObjective

    encoder = encoder or CandidateEncoder(model.item_tower)
    scorer = click_model_scorer(model, temperature)
    vectors = model.catalogue_vectors().cpu().numpy()
    objective = PromotionObjective(scorer, observations, vectors, np.asarray(rows, dtype=np.int64))
    result = attack.run(model.texts, objective, encoder)
    return {row: (text,) for row, text in result.texts.items()}


def consistency_gap(model: TwoTowerClickModel, rewrites: Mapping[int, str]) -> float:
    """Mean L2 distance, in the model's item space, between each rewrite and its original text."""
    rows = sorted(rewrites)
    ids, mask = model.item_tower.tokenize([rewrites[r] for r in rows])
    was_training = model.training
    model.eval()
    with torch.no_grad():
        edited = model.item_tower(model.item_tower.embed(ids.to(model.device)), mask.to(model.device))
        original = model.catalogue_vectors()[torch.as_tensor(rows, device=model.device)]
    model.train(was_training)
    return float(nn.functional.pairwise_distance(edited, original).mean())
