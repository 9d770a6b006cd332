"""From per-seed records to the board's table: medians with IQRs and CIs, worst case, drop, AUC, ranks.

For each row and mode, every statistic is first computed **per training seed** and only then
summarised over seeds (:mod:`.stats`: median, IQR, 95% percentile-bootstrap CI of the median over
training seeds). Per training seed ``s`` (``R_s(a, e)``: mean evaluation return of the policy
trained with seed ``s`` under attack ``a`` at budget ``e``, over every evaluation episode, the same
users for every row):

* natural return ``N_s = R_s(none, 0)`` and its CTR;
* worst case ``W_s(e) = min_a R_s(a, e)`` over the attacks **scored at** ``e`` (``attack_eps_scales``:
  e.g. the learned adversary at the main budget only) and **applicable** to the row (read off the
  entry's policy: :attr:`~benchmarks.leaderboard.protocol.EntryInfo.attacks`; every attack for PPO,
  no critic attack for LinUCB and the click model, the black-box and query-only ones for random and
  popularity), the other cells being "n/a". A seed whose applicable cells are not all
  present gets no worst case (never a minimum over a subset). The table says how many attacks each
  row's worst case is over, per budget;
* relative drop ``D_s = 1 - W_s(main eps) / N_s``;
* area under the worst-case return-vs-eps curve, normalised by the largest budget so that it is in
  return units (the mean return over ``[0, eps_max]``; it equals ``N_s`` when no attack hurts)::

      AUC_s = (1 / eps_max) * trapz([N_s, W_s(e_1), ..., W_s(e_k)], [0, e_1, ..., e_k])

Training cost: the median over seeds of env steps and wall seconds. Ranking (per mode): ranked rows
by the median worst case at the main eps, best first (ties: natural return); a row without a worst case
(cells missing) gets no rank. Each ranked row is compared with the one above it by a paired sign-flip
permutation test over the training seeds both have (:func:`.stats.paired_permutation_test` on
``W_s(main eps)``); rows not separated at 5% are shown as tied (``rank_shown``, ``tied``).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from benchmarks.leaderboard.protocol import NATURAL, WHITE_BOX_ATTACKS, BoardConfig, Row
from benchmarks.leaderboard.stats import ALPHA, Stat, paired_permutation_test, summarize, tied_ranks

NOT_ATTACKED = "not attacked"
__all__ = ["NOT_ATTACKED", "Stat", "aggregate", "area_under_curve", "cell_name", "summarize", "worst_over"]


def area_under_curve(eps: list[float], values: list[float]) -> float:
    """Trapezoid area under ``values`` over ``eps`` (which starts at 0), divided by ``eps[-1]``."""
    x, y = np.asarray(eps, dtype=np.float64), np.asarray(values, dtype=np.float64)
    if x[0] != 0.0 or np.any(np.diff(x) <= 0):
        raise ValueError(f"eps must start at 0 and increase, got {list(eps)}.")
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0 / x[-1])


def cell_name(attack: str, eps: float) -> str:
    return f"{attack}@{eps:g}"


def worst_over(row: Row, attacks: tuple[str, ...]) -> str:
    """Which attacks the row's worst case is over, in words."""
    used = [a for a in attacks if row.applicable(a)]
    if not used:
        return NOT_ATTACKED
    if len(used) == len(attacks):
        return "all attacks"
    skipped = [a for a in attacks if a not in used]
    if not any(a in WHITE_BOX_ATTACKS for a in used):
        return f"black-box only ({', '.join(used)}; {', '.join(skipped)} n/a)"
    return f"{', '.join(used)} ({', '.join(skipped)} n/a)"


def aggregate(records: list[dict], training: list[dict], config: BoardConfig) -> list[dict]:
    """The board's table: one dict per (row, mode), rows in config order, ranked per mode.

    Args:
        records: one per (row, training seed, attack, eps, mode), as :func:`~.runner.collect` returns.
        training: one per (row, training seed), with ``env_steps`` and ``wall_s``.
        config: the board (rows, attacks, budgets, modes).
    """
    values: dict[tuple, float] = {}
    ctrs: dict[tuple, float] = {}
    applicable: dict[tuple, bool] = {}
    for r in records:
        key = (r["row"], r["mode"], r["train_seed"], r["attack"], float(r["eps"]))
        applicable[key] = r["applicable"]
        if r["applicable"]:
            values[key], ctrs[key] = float(r["return_mean"]), float(r["ctr"])
    costs = defaultdict(list)
    for t in training:
        costs[t["row"]].append(t)
    grid = list(config.eps_grid)
    main = config.main_eps_scored
    table = []
    for mode in config.modes:
        for row in config.rows:
            table.append(_row_stats(row, mode, config, grid, main, values, ctrs, applicable, costs[row.name]))
        _rank([t for t in table if t["mode"] == mode])
    return table


def _row_stats(row, mode, config, grid, main, values, ctrs, applicable, costs) -> dict:
    attacks = [a for a in config.attacks if row.applicable(a)]
    at = {e: [a for a in config.attacks_at(e) if row.applicable(a)] for e in grid}
    per_seed = defaultdict(list)
    complete = True
    for s in config.train_seeds:
        get = lambda a, e, s=s: values.get((row.name, mode, s, a, float(e)))  # noqa: E731
        natural = get(NATURAL, 0.0)
        per_seed["natural"].append(natural)
        per_seed["ctr"].append(ctrs.get((row.name, mode, s, NATURAL, 0.0)))
        cells_present = natural is not None and all(get(a, e) is not None for e in grid for a in at[e])
        complete &= cells_present
        if not attacks:
            continue
        worst = {}
        for e in grid:
            vals = [get(a, e) for a in at[e]]
            worst[e] = min(vals) if vals and all(v is not None for v in vals) else None
            per_seed[f"worst@{e:g}"].append(worst[e])
        if natural is not None and worst[main] is not None and natural > 0:
            per_seed["drop"].append(1.0 - worst[main] / natural)
        if natural is not None and all(worst[e] is not None for e in grid):
            per_seed["auc"].append(area_under_curve([0.0, *grid], [natural, *(worst[e] for e in grid)]))
    cells = {}
    for a in config.attacks:
        for e in grid:
            if e not in config.attack_eps(a):
                cells[cell_name(a, e)] = "not scored"
            elif not row.applicable(a):
                cells[cell_name(a, e)] = "n/a"
            else:
                found = [values.get((row.name, mode, s, a, float(e))) for s in config.train_seeds]
                cells[cell_name(a, e)] = summarize(found)
    return {
        "row": row.name,
        "slug": row.slug,
        "entry": row.entry,
        "defence": row.defence,
        "rho": row.rho,
        "mode": mode,
        "ranked": row.info.ranked,
        "rank": None,
        "rank_shown": None,
        "tied": False,
        "p_vs_above": None,
        "natural": summarize(per_seed["natural"]),
        "ctr": summarize(per_seed["ctr"]),
        "cells": cells,
        "worst": {f"{e:g}": summarize(per_seed[f"worst@{e:g}"]) for e in grid},
        "worst_main": summarize(per_seed[f"worst@{main:g}"]) if attacks else None,
        "worst_main_per_seed": per_seed[f"worst@{main:g}"] if attacks else [],
        "attacks_applied": {f"{e:g}": len(at[e]) for e in grid},
        "attacks_main": f"{len(at[main])}/{len(config.attacks_at(main))}",
        "attacks_scored": {f"{e:g}": len(config.attacks_at(e)) for e in grid},
        "drop": summarize(per_seed["drop"]),
        "auc": summarize(per_seed["auc"]),
        "worst_over": worst_over(row, config.attacks),
        "complete": bool(complete),
        "train_env_steps": _median([c["env_steps"] for c in costs]),
        "train_wall_s": _median([c["wall_s"] for c in costs]),
    }


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def _rank(rows: list[dict]) -> None:
    """Rank the contestants by median worst case; test each against the one above it (paired over seeds)."""

    def key(t):
        worst = t["worst_main"].median if t["worst_main"] else -np.inf
        natural = t["natural"].median if t["natural"] else -np.inf
        return (-worst, -natural)

    contestants = sorted((t for t in rows if t["ranked"] and t["worst_main"] is not None), key=key)
    pvalues = [None] if contestants else []  # no contestant yet (no worst case in): nobody is ranked
    for above, t in zip(contestants, contestants[1:], strict=False):
        pairs = [
            (a, b)
            for a, b in zip(above["worst_main_per_seed"], t["worst_main_per_seed"], strict=True)
            if a is not None and b is not None
        ]
        pvalues.append(paired_permutation_test(*zip(*pairs, strict=True)) if pairs else None)
    for i, (t, p, (shown, tied)) in enumerate(
        zip(contestants, pvalues, tied_ranks(pvalues, ALPHA), strict=True), start=1
    ):
        t.update(rank=i, rank_shown=shown, tied=tied, p_vs_above=None if p is None else round(p, 6))
