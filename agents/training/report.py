"""Evaluate a trained recommender clean and under attack, and print the table.

Every cell runs ``episodes`` complete episodes with :func:`advrec_gym.attacks.evaluate_attack`
(sampled actions, the recommender's default; greedy is reported for the clean row too), on
evaluation seeds separate from the training seeds.
"""

from __future__ import annotations

import math
from typing import Any

from stable_baselines3 import PPO

from advrec_gym._validation import check_choice, check_int
from advrec_gym.attacks import Attacker, LearnedAdversary, evaluate_attack, make_attacker
from advrec_gym.attacks.base import env_item_embeddings
from agents.training.config import EVAL_ATTACKS, TrainConfig
from agents.training.players import budget_of, recommender_view

#: the evaluation seed of a run is training seed + EVAL_SEED_OFFSET
EVAL_SEED_OFFSET = 10_000


def build_attacker(
    name: str,
    recommender: PPO,
    config: TrainConfig,
    view: Any,
    *,
    adversary: Any = None,
    seed: int | None = None,
) -> Attacker:
    """The attacker ``name`` at the run's budget, bound to the recommender's view ``view`` (a vector env)."""
    check_choice("attack", name, EVAL_ATTACKS)
    budget = budget_of(config)
    if name == "learned":
        if adversary is None:
            raise ValueError("The 'learned' attack needs an adversary (a game's, or train_best_response(...)).")
        attacker: Attacker = LearnedAdversary(adversary, budget, seed=seed)
    elif name == "pgd":
        attacker = make_attacker("pgd", recommender, budget, steps=config.pgd_steps, seed=seed)
    elif name == "random":
        attacker = make_attacker("random", None, budget, seed=seed)
    else:
        attacker = make_attacker(name, recommender, budget, seed=seed)
    attacker.bind(view.single_observation_space, view.unwrapped.embedding_slice, env_item_embeddings(view))
    return attacker


def train_best_response(recommender: PPO, config: TrainConfig, steps: int, seed: int, device: Any = "cpu") -> PPO:
    """A fresh learned adversary against the frozen ``recommender`` (its best response), as a PPO model.

    :func:`agents.training.best_response.fit_best_response` (kind ``"learned"``: the white-box warm start,
    then PPO on ``AttackerEnv`` until it plateaus, at most ``steps`` env steps), on the run's env and budget.
    """
    from agents.training.best_response import best_response_rule, fit_best_response

    steps = check_int("steps", steps, low=0)
    if steps == 0 and not config.attacker_fit_epochs:
        raise ValueError("A best response needs steps > 0 or config.attacker_fit_epochs > 0, got both 0.")
    response = fit_best_response(
        recommender,
        lambda: recommender_view(config),
        budget_of(config),
        config,
        seed=seed,
        kind="learned",
        rule=best_response_rule(steps, config.num_envs, config.attacker_n_steps),
        device=device,
    )
    return response.adversary


def best_response_recipe(config: TrainConfig, steps: int) -> str:
    """How :func:`train_best_response` trains, in words (for table titles)."""
    parts = []
    if config.attacker_fit_epochs:
        parts.append(
            f"white-box warm start, {config.attacker_fit_epochs} epochs on {config.attacker_fit_states} states"
        )
    if steps:
        parts.append(f"PPO until it plateaus, at most {steps} steps")
    return " + ".join(parts)


def evaluate_recommender(
    recommender: PPO,
    config: TrainConfig,
    attacks: list[str],
    *,
    episodes: int,
    seed: int,
    adversary: Any = None,
    greedy: bool = True,
    attacked_view: Any = None,
) -> list[dict[str, Any]]:
    """Rows of return, CTR and attack success rate: clean (sampled, and greedy), then each attack.

    Args:
        recommender: the trained recommender.
        config: its run's config (env, budget, PGD steps).
        attacks: names from :data:`~agents.training.config.EVAL_ATTACKS`; ``"learned"`` needs ``adversary``.
        episodes: episodes per row.
        seed: the evaluation seed (the same users for every row).
        adversary: the learned adversary, for ``"learned"``.
        greedy: add a greedy row for the clean observations.
        attacked_view: what the attacks read in place of ``recommender`` (default: the recommender
            itself), e.g. a randomized recommender estimated from more noise draws than it acts on; the
            recommender still acts.
    """
    view = recommender_view(config, num_envs=min(config.num_envs, episodes), evaluation=True)
    rows = [_row("clean", "sampled", evaluate_attack(view, recommender, None, episodes=episodes, seed=seed))]
    if greedy:
        report = evaluate_attack(view, recommender, None, episodes=episodes, seed=seed, deterministic=True)
        rows.append(_row("clean", "greedy", report))
    target = recommender if attacked_view is None else attacked_view
    for name in attacks:
        attacker = build_attacker(name, target, config, view, adversary=adversary, seed=seed)
        rows.append(_row(name, "sampled", evaluate_attack(view, recommender, attacker, episodes=episodes, seed=seed)))
    clean = rows[0]["return_mean"]
    for row in rows:
        row["eps"], row["norm"] = (0.0 if row["attack"] == "clean" else config.eps), config.norm
        row["return_kept"] = row["return_mean"] / clean if clean > 0 else math.nan
    return rows


def _row(attack: str, mode: str, report) -> dict[str, Any]:
    s = report.summary()
    return {
        "attack": attack,
        "actions": mode,
        "return_mean": s["return_mean"],
        "return_std": s["return_std"],
        "ctr": s["ctr"],
        "length": s["length_mean"],
        "low_quality_clicked": s["low_quality_clicked"],
        "success_rate": s["success_rate"] if attack != "clean" else math.nan,
        "mean_norm": s["mean_norm"] if attack != "clean" else 0.0,
        "episodes": s["episodes"],
    }


def format_table(rows: list[dict[str, Any]], title: str = "") -> str:
    """A plain-text table of :func:`evaluate_recommender`'s rows."""
    lines = [title] if title else []
    width = max([10, *(len(r["attack"]) + 2 for r in rows)])  # the suite's names are longer than v0's
    lines.append(
        f"{'attack':<{width}}{'actions':<9}{'eps':>7}{'return':>17}{'kept':>7}{'CTR':>7}{'length':>8}{'low-q':>7}{'success':>9}"
    )
    for r in rows:
        eps = "-" if r["attack"] == "clean" else f"{r['eps']:g}"
        success = "-" if math.isnan(r["success_rate"]) else f"{r['success_rate']:.2f}"
        kept = "-" if math.isnan(r["return_kept"]) else f"{r['return_kept']:.2f}"
        low = "-" if math.isnan(r.get("low_quality_clicked", math.nan)) else f"{r['low_quality_clicked']:.2f}"
        lines.append(
            f"{r['attack']:<{width}}{r['actions']:<9}{eps:>7}{r['return_mean']:>9.2f} +- {r['return_std']:<5.1f}"
            f"{kept:>7}{r['ctr']:>7.3f}{r.get('length', math.nan):>8.1f}{low:>7}{success:>9}"
        )
    return "\n".join(lines)
