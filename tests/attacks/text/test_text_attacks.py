"""The greedy black-box text attack on a bag-of-words "language model": budgets, determinism, collisions,
re-encoding of the edited rows only, the objective's arithmetic, and the shifts in eps-ball units."""

from __future__ import annotations

import numpy as np
import pytest

from advrec_gym.attacks.text import (
    CandidateEncoder,
    Edit,
    GreedyWordSearch,
    HotFlipSearch,
    LinearItemScorer,
    PromotionObjective,
    TextBudget,
    text_attack_cell,
)
from advrec_gym.attacks.text.edits import tokens
from advrec_gym.attacks.text.shift import embedding_shift, observation_shift, share_within

from .conftest import query_scorer, word_vector

TARGETS = (0, 3)


def probes(n: int = 16, seed: int = 0) -> np.ndarray:
    """Users whose query points at the word "acclaimed" (plus noise): that word should be the one to add."""
    v = word_vector("acclaimed")
    rng = np.random.default_rng(seed)
    q = v / np.linalg.norm(v) + 0.3 * rng.standard_normal((n, v.size)) / np.sqrt(v.size)
    return (3.0 * q).astype(np.float32)


def attack(cat, bow, budget=None, seed=0, cls=GreedyWordSearch):
    budget = budget or TextBudget(targets=TARGETS)
    objective = PromotionObjective(
        query_scorer(probes(), np.zeros(cat.num_items)), probes(), cat.embeddings, budget.select_targets(cat, seed)
    )
    return cls(budget, seed=seed).run(cat.texts, objective, CandidateEncoder(bow)), objective


def test_objective_hand_computed():
    # one user q = (1, 0); items e0 = (1, 0), e1 = (0, 1): scores 1 and 0, so p0 = e / (e + 1) = sigmoid(1)
    scorer = LinearItemScorer(lambda o: o, np.zeros(2))
    emb = np.eye(2, dtype=np.float32)
    obj = PromotionObjective(scorer, np.array([[1.0, 0.0]], np.float32), emb, [0], k=1)
    assert obj.target_mass(0, emb[:1])[0] == pytest.approx(1 / (1 + np.exp(-1.0)))
    # moving the target to (0, 1) ties it with item 1: p0 = 1/2
    assert obj.target_mass(0, emb[1:])[0] == pytest.approx(0.5)
    assert obj.report(emb) == {"mass": pytest.approx(1 / (1 + np.exp(-1.0))), "exposure@1": 1.0}
    assert obj.report(emb[::-1].copy())["exposure@1"] == 1.0  # a tie at the top counts as in the top 1


def test_greedy_promotes_within_budget(bow, make_catalogue):
    cat = make_catalogue(bow)
    budget = TextBudget(targets=TARGETS, max_edits=2)
    result, objective = attack(cat, bow, budget)
    assert sorted(result.texts) == list(TARGETS)
    for t in result.targets:
        check = budget.check(t.original, t.edited)
        assert check.admissible and 1 <= check.edits <= 2 and len(t.edits) == check.edits
        assert t.mass_after > t.mass_before
        assert t.edits[0].endswith(" acclaimed")  # the word the users' queries point at is added first
    edited = np.array(cat.embeddings)
    edited[list(TARGETS)] = bow.encode([result.texts[t] for t in TARGETS])
    assert objective.report(edited)["mass"] > objective.report(cat.embeddings)["mass"]


def test_budget_binds(bow, make_catalogue):
    cat = make_catalogue(bow)
    one, _ = attack(cat, bow, TextBudget(targets=TARGETS, max_edits=1))
    assert all(len(t.edits) == 1 for t in one.targets)
    none, _ = attack(cat, bow, TextBudget(targets=TARGETS, min_similarity=1.0))
    assert none.texts == {} and none.inadmissible > 0
    subs_only, _ = attack(cat, bow, TextBudget(targets=TARGETS, insert_at="nowhere"))
    for t in subs_only.targets:
        assert all(e.startswith("sub ") for e in t.edits)
        assert len(tokens(t.edited)) == len(tokens(t.original))


def test_same_seed_same_rewrites(bow, make_catalogue):
    cat = make_catalogue(bow)
    a, _ = attack(cat, bow, seed=0)
    b, _ = attack(cat, bow, seed=0)
    assert a.texts == b.texts
    assert [t.edits for t in a.targets] == [t.edits for t in b.targets]
    assert [t.mass_after for t in a.targets] == [t.mass_after for t in b.targets]
    assert (a.candidates, a.collisions, a.inadmissible) == (b.candidates, b.collisions, b.inadmissible)


def test_collision_is_skipped_not_applied(bow, make_catalogue):
    base = make_catalogue(bow)
    texts = list(base.texts)
    best = " ".join(Edit("tag", 0, "acclaimed").apply(tokens(texts[0])))  # the edit the attack wants for item 0
    texts[1] = best  # ... is already item 1's text
    cat = make_catalogue(bow, texts)
    result, _ = attack(cat, bow, TextBudget(targets=(0,), max_edits=1))
    assert result.collisions >= 1
    assert result.texts[0] != best and result.texts[0] not in cat.texts
    cat.replace_texts(result.texts, encoder=bow)  # and the catalogue accepts the rewrite


def test_cell_reencodes_the_edited_rows_only(bow, make_catalogue, tmp_path):
    cat = make_catalogue(bow)
    scorer = query_scorer(probes(), np.zeros(cat.num_items))
    enc = CandidateEncoder(bow)
    bow.calls.clear()
    edited, stats = text_attack_cell(
        scorer, cat, TextBudget(targets=TARGETS), 0, encoder=enc, probes=probes(), cache_dir=tmp_path
    )
    others = {text for i, text in enumerate(cat.texts) if i not in TARGETS}
    encoded = [text for call in bow.calls for text in call]
    assert encoded and not others & set(encoded)  # no other item's text ever reached the encoder
    assert bow.calls[-1] == [edited.texts[t] for t in TARGETS]  # replace_texts encodes the two edited rows, once
    assert stats["texts_encoded"] == len(encoded) - len(TARGETS)  # every candidate once; then the 2 edited rows
    rest = np.setdiff1d(np.arange(cat.num_items), TARGETS)
    assert np.array_equal(edited.embeddings[rest], cat.embeddings[rest])
    assert not np.allclose(edited.embeddings[list(TARGETS)], cat.embeddings[list(TARGETS)])
    assert np.array_equal(edited.user_embeddings, cat.embeddings)  # the users' items are unchanged
    assert np.array_equal(edited.quality, cat.quality) and np.array_equal(edited.appeal, cat.appeal)
    assert stats["after"]["mass"] > stats["before"]["mass"]
    assert stats["shift_l2"] == pytest.approx(
        np.linalg.norm(edited.embeddings[list(TARGETS)] - cat.embeddings[list(TARGETS)], axis=1).tolist(), rel=1e-5
    )


def test_hotflip_needs_the_tokens(bow, make_catalogue):
    with pytest.raises(TypeError, match="white-box"):
        attack(make_catalogue(bow), bow, cls=HotFlipSearch)


def test_shifts_in_eps_ball_units():
    clean = np.zeros((2, 3), np.float32)
    clean[:, 0] = 1.0
    edited = clean.copy()
    edited[1] = [0.8, 0.6, 0.0]  # item 1 moves by d = (-0.2, 0.6, 0): L-inf 0.6, L2 sqrt(0.4)
    s = embedding_shift(clean, edited, [1])
    assert s["linf"][0] == pytest.approx(0.6) and s["l2"][0] == pytest.approx(np.sqrt(0.4))
    # one user: item 1 shown and skipped, then item 0. Before the second event the skipped block holds
    # 0.3 e_1 and the shown block 0.5 e_1, so the observation moves by 0.3 d and 0.5 d there.
    out = observation_shift(
        clean, edited, np.array([1, 0]), np.array([0, 0]), np.zeros(2), np.array([True, False]), dim=3
    )
    assert out["linf"].tolist() == pytest.approx([0.0, 0.5 * 0.6], abs=1e-6)
    assert out["l2"][1] == pytest.approx(np.sqrt(0.3**2 + 0.5**2) * np.sqrt(0.4), rel=1e-5)
    assert share_within(out["linf"], [0.1, 0.5]) == {"0.1": 0.5, "0.5": 1.0}


def test_cell_bad_input(bow, make_catalogue):
    cat = make_catalogue(bow)
    scorer = query_scorer(probes(), np.zeros(cat.num_items))
    with pytest.raises(TypeError, match="budget must be an advrec_gym.attacks.text.TextBudget"):
        text_attack_cell(scorer, cat, {"max_edits": 3}, 0, encoder=bow, probes=probes())
    with pytest.raises(ValueError, match="Did you mean 'hotflip'"):
        text_attack_cell(scorer, cat, TextBudget(targets=TARGETS), 0, attack="hotflp", encoder=bow, probes=probes())
    with pytest.raises(ValueError, match="seed"):
        text_attack_cell(scorer, cat, TextBudget(targets=TARGETS), -1, encoder=bow, probes=probes())
    with pytest.raises(ValueError, match=r"targets must be catalogue rows in \[0, 23\]"):
        text_attack_cell(scorer, cat, TextBudget(targets=(99,)), 0, encoder=bow, probes=probes())
    with pytest.raises(ValueError, match="one row per entry of rows"):
        scorer.scores(probes(), np.zeros((2, 32), np.float32), np.array([0]))


def test_policy_scorer_matches_the_policy(tiny_catalogue):
    """The scorer of a PPO item-embedding policy reproduces its logits; an MlpPolicy is refused."""
    import torch
    from stable_baselines3 import PPO

    from advrec_gym.attacks.text import policy_scorer
    from advrec_gym.sb3_adapter import SB3VecEnvAdapter
    from advrec_gym.v0 import AdvRecVectorEnv
    from agents.policies import policy_class_and_kwargs

    venv = SB3VecEnvAdapter(AdvRecVectorEnv(2, catalogue=tiny_catalogue, max_episode_steps=10))
    cls, kw = policy_class_and_kwargs("item_embedding", tiny_catalogue.embeddings)
    model = PPO(cls, venv, policy_kwargs=kw, n_steps=8, batch_size=8, seed=0, device="cpu")
    with torch.no_grad():
        model.policy.action_net.bias.copy_(torch.linspace(-1, 1, tiny_catalogue.num_items))
    obs = np.random.default_rng(0).uniform(-0.2, 0.2, (5, venv.observation_space.shape[0])).astype(np.float32)
    scorer = policy_scorer(model)
    rows = np.arange(tiny_catalogue.num_items)
    with torch.no_grad():
        logits = model.policy.get_distribution(torch.as_tensor(obs)).distribution.logits.numpy()
    s = scorer.scores(obs, tiny_catalogue.embeddings, rows)
    # softmax(scores) is the policy's distribution (logits are normalised scores)
    assert np.allclose(
        s - s.max(1, keepdims=True) - np.log(np.exp(s - s.max(1, keepdims=True)).sum(1, keepdims=True)),
        logits,
        atol=1e-4,
    )
    mlp = PPO("MlpPolicy", venv, n_steps=8, batch_size=8, seed=0, device="cpu")
    with pytest.raises(TypeError, match="item-embedding head"):
        policy_scorer(mlp)
