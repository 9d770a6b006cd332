"""Defence (c) of the text track: the PPO recommender trained against the text attacker (the game).

Per training seed, starting from the seed's cached clean victim (``victims.py``), for ``rounds``
rounds: the black-box greedy text attacker rewrites its items' texts against the *current* policy (a
best response on probe users of that policy, from the original texts each round), then PPO trains
``steps`` more steps with the env and the policy head serving the edited catalogue. The control is
the same victim trained for the same steps, with the same seeds, on the clean catalogue, so a gain
is not just more training. Both final policies, and the undefended victim, are then evaluated on the
same users, clean and under a fresh attack run against that policy itself (greedy and, when
``hotflip_edits`` > 0, HotFlip): the attacker always gets its best response to the model it faces.

Every round trains on the edited catalogue only: the edits touch the attacker's items (1% of the
catalogue), so each attacked step still serves 99% clean items, and a clean phase would only let the
policy forget what it learned about the targets' edited embeddings before the next attack.

Training after an edit: ``set_item_embeddings`` replaces the head's bias parameter, so
:func:`serve` moves the learned biases into the new parameter and rebinds the optimizer to it (its
Adam moments too), so the biases keep training and carry over between catalogues.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from advrec_gym import AdvRecVectorEnv
from advrec_gym._validation import check_float, check_int
from advrec_gym.attacks.text import TextBudget, policy_scorer, probe_observations, text_attack_cell
from benchmarks.leaderboard.stats import paired_permutation_test
from benchmarks.text.rollouts import EVAL_SEED, run_cell
from benchmarks.text.stats import fmt, summarize

_GAME_STREAM = 0x6A4E
MODELS = ("undefended", "control", "defended")
METRICS = ("return", "low_quality_shown", "mass", "exposure@10", "target_shown", "target_clicks")
DIGITS = {"return": 2, "low_quality_shown": 3, "mass": 4, "exposure@10": 3, "target_shown": 4, "target_clicks": 4}


@dataclass(frozen=True)
class GameSettings:
    """The game's settings (the flags of ``benchmarks/text_track.py --sections game``).

    Attributes:
        victim_steps: PPO steps of the cached clean victim the game starts from.
        rounds: attack-then-train rounds.
        steps: PPO steps per round (the control trains as many).
        max_edits: word edits of the attacker (greedy, in the rounds and in the final attack).
        min_similarity: the attacker's chrF floor.
        hotflip_edits: word edits of the final white-box HotFlip attack (0: skip it).
        probe_users: the attacker's probe observations per attack.
        episodes: evaluation episodes per cell.
    """

    victim_steps: int = 200_000
    rounds: int = 3
    steps: int = 24_576
    max_edits: int = 3
    min_similarity: float = 0.85
    hotflip_edits: int = 3
    probe_users: int = 256
    episodes: int = 500

    def __post_init__(self):
        for name, low in (("victim_steps", 1), ("rounds", 1), ("steps", 1), ("max_edits", 1), ("hotflip_edits", 0),
                          ("probe_users", 1), ("episodes", 1)):  # fmt: skip
            check_int(name, getattr(self, name), low=low)
        check_float("min_similarity", self.min_similarity, low=0.0, high=1.0)

    def to_dict(self) -> dict:
        return asdict(self)


def engine_of(model: Any):
    """The AdvRec engine behind an SB3 model's training env (an ``SB3VecEnvAdapter``)."""
    env = getattr(model.get_env(), "env", None)
    engine = getattr(getattr(env, "unwrapped", None), "engine", None)
    if engine is None:
        raise TypeError(
            "the game trains SB3 models whose env is an SB3VecEnvAdapter over an AdvRec vector env, "
            f"got env {type(model.get_env()).__name__}."
        )
    return engine


def serve(model: Any, catalogue) -> None:
    """From now on ``model``'s training env serves ``catalogue`` and its policy scores its embeddings.

    The per-item biases learned so far are kept: ``set_item_embeddings`` builds a new bias parameter
    from their current values; the optimizer is rebound to it (its state moves with it), so PPO keeps
    training the biases. The users' utilities never change (``catalogue.user_embeddings``).
    """
    policy = model.policy
    old = policy.action_net.bias
    policy.set_item_embeddings(np.array(catalogue.embeddings), item_bias=old.detach().cpu().numpy())
    new = policy.action_net.bias
    optimizer = policy.optimizer
    for group in optimizer.param_groups:
        group["params"] = [new if p is old else p for p in group["params"]]
    if old in optimizer.state:
        optimizer.state[new] = optimizer.state.pop(old)
    engine_of(model).set_catalogue(catalogue)


def train_steps(model: Any, steps: int, seed: int) -> int:
    """``steps`` more PPO steps (a whole number of rollouts), env and sampling seeded by ``seed``; returns the steps."""
    model.set_random_seed(seed)  # reseeds the env's next reset, the action space, and SB3's global RNGs
    model.learn(steps, reset_num_timesteps=True)  # a fresh, seeded reset of the users; lr and clip are constant
    return int(model.num_timesteps)


def round_seed(seed: int, r: int) -> int:
    """The training seed of round ``r`` (the same for the defended model and the control)."""
    return int(np.random.SeedSequence([seed, _GAME_STREAM, r]).generate_state(1)[0] % 2**31)


def attack(model, catalogue, budget: TextBudget, seed: int, name: str, probe_users: int, encoder):
    """A fresh text attack (``name``: greedy or hotflip) against ``model`` itself; (edited, stats)."""
    probes = probe_observations(model, catalogue, probe_users, seed)
    return text_attack_cell(model, catalogue, budget, seed, attack=name, encoder=encoder, probes=probes)


def _attack_record(stats: dict) -> dict:
    keep = ("before", "after", "texts_encoded", "wall_seconds", "queries")
    return {
        **{k: stats[k] for k in keep if k in stats},
        "edits": [{k: t[k] for k in ("row", "original", "edited", "edits", "similarity")} for t in stats["per_target"]],
    }


def play_rounds(defended, control, catalogue, budget: TextBudget, settings: GameSettings, seed: int, encoder,
                log=print) -> list[dict]:  # fmt: skip
    """The game's rounds: attack ``defended`` and train it on the edits; train ``control`` as long on the clean catalogue."""
    rounds = []
    for r in range(settings.rounds):
        t0 = time.perf_counter()
        edited, stats = attack(defended, catalogue, budget, seed, "greedy", settings.probe_users, encoder)
        t1 = time.perf_counter()
        serve(defended, edited)
        d_steps = train_steps(defended, settings.steps, round_seed(seed, r))
        serve(defended, catalogue)  # evaluate, probe and attack from the clean catalogue, as the attacker does
        t2 = time.perf_counter()
        c_steps = train_steps(control, settings.steps, round_seed(seed, r))
        t3 = time.perf_counter()
        rounds.append({"round": r, "attack": _attack_record(stats), "defended_steps": d_steps, "control_steps": c_steps,
                       "attack_seconds": t1 - t0, "defended_train_seconds": t2 - t1, "control_train_seconds": t3 - t2})  # fmt: skip
        log(f"  seed {seed} round {r}: attacker's probe mass {stats['before']['mass']:.4f} -> {stats['after']['mass']:.4f} "
            f"({stats['texts_encoded']} encodings, {t1 - t0:.0f} s); trained {d_steps} + {c_steps} steps in "
            f"{t2 - t1:.0f} + {t3 - t2:.0f} s")  # fmt: skip
    return rounds


def score_parts(model, embeddings, targets, low_quality, eval_obs) -> dict:
    """Where the policy's scores of item groups come from: the mean learned bias and the mean query term.

    A logit is ``<q(o), e_i> + b_i`` (:func:`~advrec_gym.attacks.text.policy_scorer`): the bias is
    the item's identity, the query term what its embedding (its text) earns; the groups are the
    targets, the other low-quality items and the rest, the query term averaged over ``eval_obs``.
    """
    scorer = policy_scorer(model)
    query = (scorer.torch_queries(eval_obs).numpy().astype(np.float64) @ np.asarray(embeddings, np.float64).T).mean(0)
    is_target = np.isin(np.arange(len(scorer.bias)), targets)
    groups = {"targets": is_target, "other_low_quality": ~is_target & low_quality, "rest": ~is_target & ~low_quality}
    return {g: {"bias": float(scorer.bias[m].mean()), "query": float(query[m].mean())} for g, m in groups.items()}


def evaluate_model(model, catalogue, targets, settings: GameSettings, seed: int, encoder, log=print) -> dict:
    """Clean, and under a fresh greedy (and HotFlip) attack against ``model`` itself, on the evaluation users."""
    venv = AdvRecVectorEnv(100, catalogue)
    eval_obs = probe_observations(model, catalogue, 1024, EVAL_SEED)
    cells = {"clean": run_cell(venv, model, catalogue, targets, settings.episodes, eval_obs)[0]}
    low = np.asarray(catalogue.low_quality, bool)
    cells["clean"]["scores"] = score_parts(model, catalogue.embeddings, targets, low, eval_obs)
    configs = [("greedy", settings.max_edits)] + (
        [("hotflip", settings.hotflip_edits)] if settings.hotflip_edits else []
    )
    for name, m in configs:
        budget = TextBudget(max_edits=m, min_similarity=settings.min_similarity, targets=tuple(targets.tolist()))
        edited, stats = attack(model, catalogue, budget, seed, name, settings.probe_users, encoder)
        metrics, _ = run_cell(venv, model, edited, targets, settings.episodes, eval_obs)
        cells[f"{name}-{m}"] = {**metrics, "attack": _attack_record(stats),
                                "scores": score_parts(model, edited.embeddings, targets, low, eval_obs)}  # fmt: skip
    return cells


def seed_game(catalogue, seed: int, targets, settings: GameSettings, encoder, load_victim, log=print) -> dict:
    """One training seed: the rounds, then every model's cells.

    Args:
        catalogue: the clean catalogue.
        seed: the training seed (the victim's, the attacker's, the rounds').
        targets: the attacker's items (rows).
        settings: the game's settings.
        encoder: a :class:`~advrec_gym.attacks.text.CandidateEncoder` shared by every attack.
        load_victim: ``load_victim(seed) -> PPO``, a fresh model with the seed's clean victim's weights
            (called three times: undefended, control, defended).
    """
    start = time.perf_counter()
    encoded0 = encoder.stats()["texts_encoded"]
    targets = np.asarray(targets, dtype=np.int64)
    budget = TextBudget(max_edits=settings.max_edits, min_similarity=settings.min_similarity,
                        targets=tuple(targets.tolist()))  # fmt: skip
    defended, control = load_victim(seed), load_victim(seed)
    rounds = play_rounds(defended, control, catalogue, budget, settings, seed, encoder, log)
    models = {"undefended": load_victim(seed), "control": control, "defended": defended}
    cells = {}
    for name in MODELS:
        cells[name] = evaluate_model(models[name], catalogue, targets, settings, seed, encoder, log)
        line = "  ".join(f"{c} {v['return']:.2f}/{v['mass']:.4f}" for c, v in cells[name].items())
        log(f"  seed {seed} {name:10s} (return/mass) {line}")
    return {
        "seed": seed,
        "rounds": rounds,
        "cells": cells,
        "extra_steps": {
            "control": sum(r["control_steps"] for r in rounds),
            "defended": sum(r["defended_steps"] for r in rounds),
        },  # fmt: skip
        "texts_encoded": int(encoder.stats()["texts_encoded"] - encoded0),
        "wall_seconds": time.perf_counter() - start,
    }


def summary(per_seed: list[dict]) -> dict:
    """Medians over seeds (bootstrap CIs) per model and cell, and the paired per-seed differences."""
    cell_names = list(per_seed[0]["cells"]["defended"])
    out: dict[str, Any] = {"models": {}, "paired": {}}
    for model in MODELS:
        out["models"][model] = {
            c: {m: summarize([run["cells"][model][c][m] for run in per_seed]) for m in METRICS} for c in cell_names
        }
        # what the attack does to each model (same model and users): the return it costs, the mass it multiplies
        for c in cell_names[1:]:
            runs = [(run["cells"][model]["clean"], run["cells"][model][c]) for run in per_seed]
            out["models"][model][c]["return_drop"] = summarize([a["return"] - b["return"] for a, b in runs])
            out["models"][model][c]["mass_ratio"] = summarize([b["mass"] / a["mass"] for a, b in runs])
        # the targets' logit parts relative to the other low-quality items' (clean, and as the greedy edits make them)
        for c in cell_names[:2]:
            for part in ("bias", "query"):
                out["models"][model][c][f"target_{part}_gap"] = summarize(
                    [run["cells"][model][c]["scores"]["targets"][part]
                     - run["cells"][model][c]["scores"]["other_low_quality"][part] for run in per_seed]
                )  # fmt: skip
    out["paired_p"] = {}
    for a, b in (("defended", "control"), ("defended", "undefended"), ("control", "undefended")):
        out["paired"][f"{a} - {b}"] = {
            c: {m: summarize([run["cells"][a][c][m] - run["cells"][b][c][m] for run in per_seed]) for m in METRICS}
            for c in cell_names
        }
        if len(per_seed) > 1:  # the board's paired sign-flip test over training seeds (two-sided)
            out["paired_p"][f"{a} - {b}"] = {
                c: {m: paired_permutation_test([run["cells"][a][c][m] for run in per_seed],
                                               [run["cells"][b][c][m] for run in per_seed]) for m in METRICS}
                for c in cell_names
            }  # fmt: skip
    out["wall_seconds"] = [run["wall_seconds"] for run in per_seed]
    out["texts_encoded"] = [run["texts_encoded"] for run in per_seed]
    out["round_mass"] = [[(r["attack"]["before"]["mass"], r["attack"]["after"]["mass"]) for r in run["rounds"]]
                         for run in per_seed]  # fmt: skip
    return out


def table(s: dict) -> str:
    """The section's printed tables."""
    cells = list(s["models"]["defended"])
    lines = ["medians over seeds [95% bootstrap CI]; every attack is run afresh against the model it is scored on",
             f"{'model':10s} {'cell':10s} " + " ".join(f"{m:>22s}" for m in METRICS)]  # fmt: skip
    for model in MODELS:
        for c in cells:
            row = s["models"][model][c]
            lines.append(f"{model:10s} {c:10s} " + " ".join(f"{fmt(row[m], DIGITS[m]):>22s}" for m in METRICS))
    lines += ["", "paired per seed (same users), medians of the differences [95% bootstrap CI]",
              f"{'pair':22s} {'cell':10s} " + " ".join(f"{m:>22s}" for m in METRICS)]  # fmt: skip
    for pair, rows in s["paired"].items():
        for c in cells:
            lines.append(f"{pair:22s} {c:10s} " + " ".join(f"{fmt(rows[c][m], DIGITS[m]):>22s}" for m in METRICS))
    if s.get("paired_p"):
        lines += ["", "paired sign-flip test over training seeds (two-sided p)",
                  f"{'pair':22s} {'cell':10s} " + " ".join(f"{m:>22s}" for m in METRICS)]  # fmt: skip
        for pair, rows in s["paired_p"].items():
            for c in cells:
                lines.append(f"{pair:22s} {c:10s} " + " ".join(f"{rows[c][m]:>22.4f}" for m in METRICS))
    lines += ["", "what the attack does to each model, and the targets' logit parts minus the other low-quality items' "
              "(bias: the item's identity; query: what its embedding earns), medians over seeds",
              f"{'model':10s} {'cell':10s} {'mass ratio':>22s} {'return drop':>22s} {'bias gap':>22s} "
              f"{'query gap':>22s}"]  # fmt: skip
    for model in MODELS:
        for c in cells:
            row = s["models"][model][c]
            lines.append(f"{model:10s} {c:10s} " + " ".join(f"{fmt(row.get(k), 3):>22s}" for k in
                         ("mass_ratio", "return_drop", "target_bias_gap", "target_query_gap")))  # fmt: skip
    lines.append("")
    lines.append("attacker's probe mass per round (before -> after its edits), per seed: "
                 + "; ".join(" ".join(f"{a:.4f}->{b:.4f}" for a, b in seed) for seed in s["round_mass"]))  # fmt: skip
    lines.append(f"wall seconds per seed: {[round(w) for w in s['wall_seconds']]}; texts encoded: {s['texts_encoded']}")
    return "\n".join(lines)


def load_victim_fn(catalogue, steps: int, work_dir, log=print):
    """``load_victim`` for :func:`seed_game`: the attacks section's cached victim (trained if missing)."""
    from benchmarks.text.victims import train_victim

    def load(seed: int):
        torch.set_num_threads(1)
        return train_victim(catalogue, seed, steps, work_dir, log=log)

    return load
