"""The text attack as one leaderboard cell: attack a trained recommender's targets, return the edited catalogue.

``text_attack_cell(victim, catalogue, budget, seed)`` is what a board runs per (row, training seed):
it draws the attacker's probe users from rollouts of the victim on the clean catalogue (their own
seeded stream, disjoint from evaluation users), picks the targets (:meth:`TextBudget.select_targets`),
rewrites them (:class:`~.greedy.GreedyWordSearch` or :class:`~.hotflip.HotFlipSearch`), re-encodes the
edited rows only (:meth:`~advrec_gym.Catalogue.replace_texts`), and returns the edited catalogue with
the attack's statistics. The board then evaluates the row on the edited catalogue with
:func:`swapped_catalogue` (the env's users see the same items; the recommender scores and observes
the edited embeddings) through :func:`advrec_gym.evaluation.evaluate`, with the same evaluation seed
as the clean cell, so rows are paired.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from advrec_gym._validation import check_choice, check_int
from advrec_gym.attacks.text.budget import TextBudget
from advrec_gym.attacks.text.encoding import CandidateEncoder
from advrec_gym.attacks.text.greedy import GreedyWordSearch
from advrec_gym.attacks.text.hotflip import HotFlipSearch
from advrec_gym.attacks.text.objective import PromotionObjective
from advrec_gym.attacks.text.shift import embedding_shift
from advrec_gym.attacks.text.victim import LinearItemScorer, policy_scorer

TEXT_ATTACKS = ("greedy", "hotflip")
_PROBE_STREAM = 0x7E48


def probe_observations(victim: Any, catalogue, num: int, seed: int, **env_kwargs: Any) -> np.ndarray:
    """``num`` observations of AdvRec-v1 users served by ``victim`` (sampled actions) on ``catalogue``.

    Every step of 32 parallel users is kept until ``num`` are collected, seeded from ``(seed, probe
    stream)`` so that they never coincide with an evaluation seed's users.
    """
    from advrec_gym.attacks.victim import VictimActor
    from advrec_gym.vector_env import AdvRecVectorEnv

    num = check_int("num", num, low=1)
    venv = AdvRecVectorEnv(32, catalogue, **env_kwargs)
    actor, rng = VictimActor(victim), np.random.default_rng([seed, _PROBE_STREAM])
    obs, _ = venv.reset(seed=int(rng.integers(2**31)))
    out = []
    while sum(len(o) for o in out) < num:
        out.append(obs)
        obs, *_ = venv.step(actor.act(obs, rng, deterministic=False))
    return np.concatenate(out)[:num]


def make_text_attack(name: str, budget: TextBudget, seed: int = 0, **kwargs: Any):
    """The text attack called ``name`` (``"greedy"``: black-box, ``"hotflip"``: white-box)."""
    name = check_choice("attack", name, TEXT_ATTACKS)
    cls = GreedyWordSearch if name == "greedy" else HotFlipSearch
    return cls(budget, seed=seed, **kwargs)


def text_attack_cell(
    victim: Any,
    catalogue,
    budget: TextBudget,
    seed: int,
    *,
    attack: str = "greedy",
    encoder: Any = None,
    probe_users: int = 256,
    probes: np.ndarray | None = None,
    k: int = 10,
    cache_dir: Any = None,
    **env_kwargs: Any,
):
    """Attack ``victim``'s view of ``catalogue`` and return ``(edited catalogue, stats)``.

    Args:
        victim: an SB3 PPO with the item-embedding policy, or a :class:`LinearItemScorer`.
        catalogue: the clean catalogue (encoded with ``encoder``).
        budget: the threat model's budget.
        seed: seeds targets, probe users and the attack.
        attack: ``"greedy"`` (black-box) or ``"hotflip"`` (white-box).
        encoder: a :class:`CandidateEncoder` (shared across cells to reuse its memo), a
            :class:`~advrec_gym.TransformerEncoder`, or ``None`` for the catalogue's default encoder.
        probe_users: how many probe observations to draw when ``probes`` is not given.
        probes: the attacker's probe observations.
        k: exposure@k's cut-off.
        cache_dir: the embedding cache of :meth:`~advrec_gym.Catalogue.replace_texts`.
        **env_kwargs: AdvRec-v1 options of the probe rollouts (``user_model``, ``dynamics``, ...).
    """
    from advrec_gym.encoder import TransformerEncoder

    if not isinstance(budget, TextBudget):
        raise TypeError(f"budget must be an advrec_gym.attacks.text.TextBudget, got {type(budget).__name__}.")
    seed = check_int("seed", seed, low=0)
    attacker = make_text_attack(attack, budget, seed)
    targets = budget.select_targets(catalogue, seed)
    if not isinstance(encoder, CandidateEncoder):
        encoder = CandidateEncoder(encoder if encoder is not None else TransformerEncoder())
    scorer = victim if isinstance(victim, LinearItemScorer) else policy_scorer(victim)
    if probes is None:
        probes = probe_observations(victim, catalogue, probe_users, seed, **env_kwargs)
    objective = PromotionObjective(scorer, probes, catalogue.embeddings, targets, k=k)
    result = attacker.run(catalogue.texts, objective, encoder)
    tf = getattr(encoder.view, "source", None)
    edited = catalogue.replace_texts(result.texts, encoder=tf, cache_dir=cache_dir) if result.texts else catalogue
    shift = embedding_shift(catalogue.embeddings, edited.embeddings, targets)
    stats = {
        "attack": attack,
        "seed": seed,
        "budget": budget.to_dict(),
        "targets": targets.tolist(),
        "before": objective.report(catalogue.embeddings),
        "after": objective.report(edited.embeddings),
        "shift_linf": shift["linf"].tolist(),
        "shift_l2": shift["l2"].tolist(),
        **result.stats(),
    }
    return edited, stats


@contextlib.contextmanager
def swapped_catalogue(venv: Any, model: Any, catalogue):
    """Within the block, ``venv``'s users are served from ``catalogue`` and ``model`` scores its embeddings.

    The engine's items change what the recommender observes (``Engine.set_catalogue``); an
    item-embedding policy's head gets the new embeddings and keeps its learned biases. Both are
    restored on exit. (``set_item_embeddings`` makes a new bias parameter: evaluate inside the block,
    and build a new optimizer before training the model again.)
    """
    engine = venv.unwrapped.engine
    policy = getattr(model, "policy", model)  # None: only the env's catalogue changes
    old_cat = engine.catalogue
    head = getattr(policy, "action_net", None)
    old = None
    if head is not None and hasattr(policy, "set_item_embeddings"):
        old = (head.item_embeddings.detach().cpu().numpy().copy(), head.bias.detach().cpu().numpy().copy())
        policy.set_item_embeddings(np.array(catalogue.embeddings), item_bias=old[1])
    engine.set_catalogue(catalogue)
    try:
        yield
    finally:
        engine.set_catalogue(old_cat)
        if old is not None:
            policy.set_item_embeddings(old[0], item_bias=old[1])
