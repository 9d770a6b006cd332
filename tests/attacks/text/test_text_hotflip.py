"""The white-box HotFlip search through the real all-MiniLM-L6-v2 (slow: loads the model)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advrec_gym import Catalogue, TransformerEncoder
from advrec_gym.attacks.text import CandidateEncoder, HotFlipSearch, LinearItemScorer, PromotionObjective, TextBudget

TEXTS = (
    "Shocking Secret of the Kitchen. You won't believe what this young chef does with bread. Tags: cooking, viral, film.",
    "The Quiet Orbit. A thoughtful documentary about two astronauts repairing a satellite. Tags: space, documentary.",
    "Swing Night. A smoky novel about a young saxophonist in a basement bar. Tags: jazz, novel.",
)


@pytest.mark.slow
def test_hotflip_promotes_within_budget_and_leaves_the_encoder_alone(tmp_path):
    torch.manual_seed(0)  # not used by the attack; set so that a stray global draw would show up as a difference
    encoder = TransformerEncoder()
    cat = Catalogue.from_texts(TEXTS, topics=["a", "b", "c"], encoder=encoder, cache_dir=tmp_path)
    # users who like acclaimed, award-winning work: their query is that sentence's embedding
    q = encoder.encode(["An acclaimed, award-winning and must-see masterpiece."])
    scorer = LinearItemScorer(lambda obs: obs, np.zeros(3))
    probes = np.repeat(8.0 * q, 4, axis=0)
    objective = PromotionObjective(scorer, probes, cat.embeddings, [0], k=1)
    cand = CandidateEncoder(encoder)
    before = [p.detach().clone() for p in encoder.load()[1].parameters()]
    budget = TextBudget(max_edits=2, min_similarity=0.8)
    result = HotFlipSearch(budget, candidates=6, seed=0).run(cat.texts, objective, cand)
    (t,) = result.targets
    assert t.edited != t.original and budget.check(t.original, t.edited).admissible
    assert 1 <= len(t.edits) <= 2 and t.mass_after > t.mass_before
    assert result.encoder["texts_encoded"] <= 1 + 2 * 6  # the original, then at most `candidates` per round
    for p, p0 in zip(encoder.load()[1].parameters(), before, strict=True):
        assert torch.equal(p, p0) and p.grad is None
    again = HotFlipSearch(budget, candidates=6, seed=0).run(cat.texts, objective, cand)
    assert again.texts == result.texts and again.targets[0].edits == t.edits
    assert again.encoder["texts_encoded"] == 0  # every candidate was memoised by the first run
