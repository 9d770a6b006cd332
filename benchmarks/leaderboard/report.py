"""Write a board: ``leaderboard.csv``, ``.json``, ``.md`` and ``leaderboard.png``, stamped with their origin.

The stamp names the commit, the command, the machine and the date. The JSON holds the stamp, the
config, the table, and one record per (entry, defence, training seed, attack, eps, mode) plus the
training costs, so that anyone can recompute the table (:func:`~.aggregate.aggregate` on them); the
per-episode returns stay in the cell files. A board whose cells come from more than one code commit
is refused (:class:`MixedCommitsError`) unless the caller allows it, and then it is flagged at the
top of the Markdown.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
from pathlib import Path

import numpy as np

from benchmarks.leaderboard.aggregate import NOT_ATTACKED, Stat, cell_name
from benchmarks.leaderboard.figures import plot
from benchmarks.leaderboard.protocol import ENTRIES, MIN_EVAL_EPISODES, MIN_TRAIN_SEEDS, BoardConfig
from benchmarks.leaderboard.results import atomic_write_bytes
from benchmarks.leaderboard.runner import BoardData
from benchmarks.leaderboard.stats import ALPHA, CONFIDENCE, EXACT_UP_TO, RESAMPLES
from benchmarks.provenance import provenance

STAT_FIELDS = ("median", "q25", "q75", "ci_low", "ci_high")
NOT_A_NUMBER = ("n/a", "not scored")


class MixedCommitsError(ValueError):
    """The board's cells (or the models they scored) were computed at more than one code commit."""

    def __init__(self, commits: dict[str, int]):
        self.commits = commits
        listed = "; ".join(f"{n} cells at {c}" for c, n in sorted(commits.items(), key=lambda kv: -kv[1]))
        super().__init__(
            f"The board's cells come from {len(commits)} code commits ({listed}). A committed board is computed "
            "at one commit: rerun the same command with --recompute-other-commits (it recomputes the cells of the "
            "other commits at this checkout's), or check out the commit you want and run it there; "
            "--allow-mixed-commits writes the report anyway, flagged."
        )


def commit_counts(data: BoardData) -> dict[str, int]:
    """Cells per code commit, counting an eval cell's model commit too where it differs from the cell's own."""
    counts = dict(data.commits)
    for c, n in data.model_commits.items():
        if c not in counts:
            counts[c] = n
    return counts


# --------------------------------------------------------------------------- stamp
def machine() -> str:
    """``host (OS, N CPUs, CPU model, GPU)`` in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    gpu = "no GPU"
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return f"{platform.node()} ({platform.platform()}, {os.cpu_count()} CPUs, {cpu}, {gpu})"


def stamp(command: str) -> dict:
    """Where a board came from: the project's provenance stamp, the machine, and the versions that matter."""
    import gymnasium
    import stable_baselines3
    import torch

    return {
        **provenance(command),
        "machine": machine(),
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "torch": torch.__version__,
            "gymnasium": gymnasium.__version__,
            "stable_baselines3": stable_baselines3.__version__,
        },
    }


# --------------------------------------------------------------------------- columns
def table_columns(config: BoardConfig) -> list[str]:
    """The CSV's columns: identity, then every statistic as ``<name>_median/_q25/_q75``."""
    stats = ["natural", "ctr"]
    stats += [cell_name(a, e) for a in config.attacks for e in config.eps_grid]
    stats += [f"worst@{e:g}" for e in config.eps_grid] + ["worst", "drop", "auc"]
    cols = ["rank", "rank_shown", "tied", "p_vs_above", "row", "entry", "defence", "rho", "mode", "ranked"]
    cols += ["complete", "worst_over", "attacks_at_main", "seeds"]
    cols += [f"{s}_{f}" for s in stats for f in STAT_FIELDS]
    return cols + ["train_env_steps", "train_wall_s"]


def flat_row(t: dict) -> dict:
    """One table row as a flat dict over :func:`table_columns` (``n/a`` for inapplicable, empty for missing)."""
    keys = ("rank", "rank_shown", "tied", "p_vs_above", "row", "entry", "defence", "rho", "mode", "ranked")
    out = {k: t[k] for k in (*keys, "complete", "worst_over")}
    out["attacks_at_main"] = t["attacks_main"]
    out["seeds"] = t["natural"].n if t["natural"] else 0
    stats = {"natural": t["natural"], "ctr": t["ctr"], **t["cells"]}
    if t["worst_over"] == NOT_ATTACKED:  # the oracle: no worst case, drop or AUC to speak of
        stats.update({f"worst@{e}": "n/a" for e in t["worst"]}, worst="n/a", drop="n/a", auc="n/a")
    else:
        stats.update({f"worst@{e}": s for e, s in t["worst"].items()})
        stats.update(worst=t["worst_main"], drop=t["drop"], auc=t["auc"])
    for name, s in stats.items():
        for f in STAT_FIELDS:
            if isinstance(s, str) or s is None:
                out[f"{name}_{f}"] = "" if s is None else s
            else:
                v = getattr(s, f)
                out[f"{name}_{f}"] = "" if v is None else round(v, 6)
    out["train_env_steps"], out["train_wall_s"] = t["train_env_steps"], t["train_wall_s"]
    return out


# --------------------------------------------------------------------------- writers
def write_report(
    data: BoardData, table: list[dict], out: str | os.PathLike, command: str, allow_mixed_commits: bool = False
) -> dict[str, Path]:
    """Write the four files into ``out``; return their paths by kind (no ``png`` without matplotlib).

    Raises:
        MixedCommitsError: the cells come from more than one code commit and ``allow_mixed_commits``
            is false (nothing is written).
    """
    commits = commit_counts(data)
    if len(commits) > 1 and not allow_mixed_commits:
        raise MixedCommitsError(commits)
    out = Path(out)
    info = stamp(command)
    paths = {k: out / f"leaderboard.{k}" for k in ("csv", "json", "md", "png")}
    cols = table_columns(data.config)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="raise")
    writer.writeheader()
    for t in table:
        writer.writerow({k: ("" if v is None else v) for k, v in flat_row(t).items()})
    atomic_write_bytes(paths["csv"], buf.getvalue().encode())
    doc = {
        "stamp": info,
        "cell_commits": commits,
        "model_commits": data.model_commits,
        "rescored_models": data.rescored_models,
        "statistics": {"bootstrap_resamples": RESAMPLES, "confidence": CONFIDENCE, "alpha": ALPHA},
        "config": data.config.to_dict(),
        "missing_cells": data.missing,
        "table": [_jsonable(t) for t in table],
        "records": [{k: v for k, v in r.items() if k != "episode_returns"} for r in data.records],
        "training": data.training,
        "compute": compute(data),
    }
    atomic_write_bytes(paths["json"], (json.dumps(doc, indent=1, allow_nan=False) + "\n").encode())
    drawn = plot(data.config, table, data.records, paths["png"])
    if not drawn:
        del paths["png"]
    atomic_write_bytes(paths["md"], markdown(data, table, info, figure=drawn).encode())
    return paths


def _jsonable(t: dict) -> dict:
    def conv(v):
        if isinstance(v, Stat):
            return v.to_dict()
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v

    return conv(t)


def fmt(s: Stat | str | None, percent: bool = False, spread: str = "ci") -> str:
    """``12.30 [11.00, 13.10]``: the median and its 95% CI (``spread="ci"``) or IQR (``"iqr"``); ``n/a``; ``-``.

    A statistic of one seed has no CI and shows its median alone.
    """
    if s is None:
        return "-"
    if isinstance(s, str):
        return s
    low, high = (s.ci_low, s.ci_high) if spread == "ci" else (s.q25, s.q75)
    if percent:
        body = f"{100 * s.median:.0f}%"
        return body if low is None else f"{body} [{100 * low:.0f}, {100 * high:.0f}]"
    return f"{s.median:.2f}" if low is None else f"{s.median:.2f} [{low:.2f}, {high:.2f}]"


def markdown(data: BoardData, table: list[dict], info: dict, figure: bool = True) -> str:
    """The board as Markdown: one ranked table per mode at the main eps, then every budget."""
    c = data.config
    main = c.main_eps_scored
    norm = "L-inf" if c.norm == "inf" else "L2"
    commits = commit_counts(data)
    lines = [f"# AdvRec leaderboard ({c.name})", ""]
    if len(commits) > 1:
        lines += [
            f"> **WARNING: this board mixes {len(commits)} code commits** "
            + "; ".join(f"{n} cells at `{k}`" for k, n in sorted(commits.items(), key=lambda kv: -kv[1]))
            + ". Its rows were not all computed by the same code: rerun with `--recompute-other-commits`.",
            "",
        ]
    if any(k.endswith("+dirty") or k == "unknown" for k in commits):
        lines += ["> **Some cells were computed on an uncommitted tree** (`+dirty`): they cannot be reproduced.", ""]
    episodes = len(c.eval_seeds) * c.episodes
    below = len(c.train_seeds) < MIN_TRAIN_SEEDS or episodes < MIN_EVAL_EPISODES
    lines += [
        f"- commit `{info['commit']}` (cells computed at code commit {', '.join(f'`{k}`' for k in commits) or '-'})",
        f"- command `{info['command']}`",
        f"- machine {info['machine']}",
        f"- date {info['date']}",
        f"- env `{c.env.env_id}`",
        "",
        f"Each cell: the median over {len(c.train_seeds)} training seeds [its {CONFIDENCE:.0%} percentile-bootstrap CI, "
        f"{RESAMPLES:,} resamples of the training seeds, the unit of replication]; IQRs are in the CSV and JSON. "
        f"Each trained policy is scored on {len(c.eval_seeds)} evaluation seed(s) x {c.episodes} episodes = "
        f"{episodes} episodes on users disjoint from training, "
        + (
            "one episode per user: the same users for every row"
            if c.slots == c.episodes
            else f"{c.slots} users at a time playing several episodes each (the same users for every row only "
            "if the env's randomness per episode does not depend on the policy)"
        )
        + f". Budget: {norm}, main eps {main:g} (grid {', '.join(f'{e:g}' for e in c.eps_grid)}) in raw embedding "
        + (
            f"units. Env: the films of {c.env.movielens} (trained on its training users, scored on its held-out users)"
            if c.env.movielens is not None
            else f"units. Env: {c.env.num_items} items / {c.env.num_topics} topics"
        )
        + ("" if c.env.random_embedding_dim is None else f" (random {c.env.random_embedding_dim}-d embeddings)")
        + f"; PPO {c.train_steps:,} steps, LinUCB {c.bandit_steps:,} steps, learned adversary {c.adversary_steps:,} steps"
        + "".join(f"; {a} only at eps {', '.join(f'{e:g}' for e in c.attack_eps(a))}" for a in c.attack_eps_scales)
        + ".",
        "",
    ]
    if below:
        lines += [
            f"**Below the protocol** ({MIN_TRAIN_SEEDS} training seeds, {MIN_EVAL_EPISODES} episodes per cell): "
            "its ranks and ties are indicative only.",
            "",
        ]
    head = ["rank", "entry", "defence", "natural", "CTR", *c.attacks_at(main), "worst", "IQR", "p vs above",
            "attacks", "drop", "AUC", "train steps", "train s"]  # fmt: skip
    for mode in c.modes:
        lines += [f"## {mode.capitalize()} actions, attacks at eps = {main:g} (ranked by worst case)", ""]
        lines += [_md_row(head), _md_row(["---"] * len(head))]
        rows = [t for t in table if t["mode"] == mode]
        for t in sorted(rows, key=lambda t: (t["rank"] is None, t["rank"] or 0)):
            cells = [fmt(t["cells"][cell_name(a, main)]) for a in c.attacks_at(main)]
            na = t["worst_over"] == NOT_ATTACKED
            lines.append(
                _md_row(
                    [
                        _rank_label(t),
                        t["entry"],
                        t["defence"] + ("" if t["rho"] is None else f" (rho={t['rho']:g})"),
                        fmt(t["natural"]),
                        fmt(t["ctr"]),
                        *cells,
                        "n/a" if na else fmt(t["worst_main"]) + ("" if t["complete"] else " *"),
                        "n/a" if na or t["worst_main"] is None else _iqr(t["worst_main"]),
                        "-" if t["p_vs_above"] is None else f"{t['p_vs_above']:.3f}",
                        "0" if na else t["attacks_main"],
                        *_robustness(t)[1:],
                        "-" if t["train_env_steps"] is None else f"{t['train_env_steps']:,.0f}",
                        "-" if t["train_wall_s"] is None else f"{t['train_wall_s']:.0f}",
                    ]
                )
            )
        lines.append("")
    lines += [f"## Every budget ({c.primary_mode} actions)", ""]
    grid_head = ["entry", "defence", *(cell_name(a, e) for a in c.attacks for e in c.attack_eps(a))]
    grid_head += [f"worst@{e:g}" for e in c.eps_grid]
    lines += [_md_row(grid_head), _md_row(["---"] * len(grid_head))]
    for t in (t for t in table if t["mode"] == c.primary_mode):
        cells = [fmt(t["cells"][cell_name(a, e)]) for a in c.attacks for e in c.attack_eps(a)]
        na = t["worst_over"] == NOT_ATTACKED
        worst = [
            "n/a" if na else fmt(t["worst"][f"{e:g}"]) + f" ({t['attacks_applied'][f'{e:g}']})" for e in c.eps_grid
        ]
        defence = t["defence"] + ("" if t["rho"] is None else f" (rho={t['rho']:g})")
        lines.append(_md_row([t["entry"], defence, *cells, *worst]))
    lines += ["", "## How to read it", ""]
    lines += [
        "- **rank**: by the median worst case at the main eps. Each row is compared with the row above it by a paired "
        "sign-flip permutation test over the training seeds (the same seed's worst case for both rows, each scored on "
        f"the same users; exact over all sign patterns up to 16 seeds). **p vs above** is its p-value; rows not "
        f"separated at {ALPHA:.0%} share the rank of the first row of their group, marked `=` (tied).",
        "- **worst**: per training seed, the lowest return over the attacks scored at that budget that apply to the "
        "row, then the median over seeds; **attacks** says how many applied of those scored (`worst@eps (k)` in the "
        "budget table). Which attacks apply is read off each entry's policy (white-box attacks need a "
        "differentiable action distribution or a critic, the query-only attack action scores); "
        + _not_applicable(c)
        + "The oracle reads the hidden interests; it is a ceiling, never attacked or ranked.",
        "- **drop**: 1 - worst / natural at the main eps, per seed. **AUC**: the area under the worst-case "
        "return-vs-eps curve (trapezoid over eps = 0 (natural) and the grid) divided by the largest eps: the mean "
        "worst-case return over [0, eps_max], in return units (equal to natural when no attack hurts).",
        "- **learned**: a PPO adversary trained afresh against each (row, training seed) at each budget it is scored "
        f"at, against the policy acting as in {c.primary_mode} mode; the other mode's columns use the same adversary.",
        "- LinUCB learns online while it trains, then is frozen; every entry is scored as a fixed policy.",
        "- `*` after a worst case: some cells of the row are missing (failed or not yet run); see the JSON's "
        "`missing_cells`.",
    ]
    if data.rescored_models:
        lines.append(
            f"- {data.rescored_models} eval cells scored an earlier training of their (row, seed) whose artifact "
            "checksum differs from the current one (a retraining from the same spec and code commit, e.g. on another "
            "machine): the same model by the board's definition, not bit for bit."
        )
    n = len(c.train_seeds)
    smallest = 2 / 2**n if n <= EXACT_UP_TO else 1 / (1 + RESAMPLES)
    lines.append(
        f"- With {n} training seeds the smallest p-value the test can give is {smallest:.3g}"
        + (": no pair can be separated at 5%." if smallest >= ALPHA else ".")
    )
    for entry in c.entry_names():
        lines.append(f"- `{entry}`: {ENTRIES[entry].description}.")
    if data.missing:
        lines += ["", f"**{len(data.missing)} cells missing** (the board is incomplete)."]
    lines += ["", *_compute_lines(data)]
    if figure:
        lines += ["", "![worst-case return vs eps](leaderboard.png)", ""]
    else:
        lines += ["", "(No figure: matplotlib is not installed; `pip install 'advrec-gym[plots]'`.)", ""]
    return "\n".join(lines)


def compute(data: BoardData) -> dict:
    """The measured cost of the board's cells: worker seconds by stage (training, learned cells, other eval cells)."""
    scored = [c for c in data.eval_costs if c["scored"]]  # n/a cells are written without any work
    stages = {
        "train (trained entries)": [t["wall_s"] for t in data.training if t["artifact"] is not None],
        "eval (learned adversary, with its training)": [c["wall_s"] for c in scored if c["attack"] == "learned"],
        "eval (the other cells)": [c["wall_s"] for c in scored if c["attack"] != "learned"],
    }
    return {
        k: {
            "cells": len(v),
            "worker_s": round(float(sum(v)), 1),
            "median_s": round(float(np.median(v)), 3) if v else None,
        }
        for k, v in stages.items()
    }


def _compute_lines(data: BoardData) -> list[str]:
    stages = compute(data)
    total = sum(v["worker_s"] for v in stages.values())
    lines = ["## Compute (measured on the cells)", "", "| stage | cells | worker seconds | median s per cell |"]
    lines.append("| --- | --- | --- | --- |")
    for name, v in stages.items():
        median = "-" if v["median_s"] is None else f"{v['median_s']:.1f}"
        lines.append(f"| {name} | {v['cells']:,} | {v['worker_s']:,.0f} | {median} |")
    lines += [
        "",
        f"In all {total:,.0f} worker seconds ({total / 3600:.2f} h; the wall time is about this over the workers "
        "when they are kept busy). Cells that do not apply to a row (n/a) cost nothing and are not counted.",
        "",
    ]
    return lines


def _iqr(s: Stat) -> str:
    return f"[{s.q25:.2f}, {s.q75:.2f}]"


def _rank_label(t: dict) -> str:
    if t["rank"] is None:
        return "ceiling" if not t["ranked"] else "-"
    return f"{t['rank_shown']}=" if t["tied"] else str(t["rank_shown"])


def _robustness(t: dict) -> list[str]:
    """The worst / drop / AUC cells of a table row (``n/a`` for a row that is never attacked)."""
    if t["worst_over"] == NOT_ATTACKED:
        return ["n/a"] * 3
    return [fmt(t["worst_main"]) + ("" if t["complete"] else " *"), fmt(t["drop"], percent=True), fmt(t["auc"])]


def _not_applicable(c: BoardConfig) -> str:
    """``"n/a for linucb: critic-pgd; for random: fgsm, ... "``: the attacks of ``c`` each ranked entry escapes."""
    parts = []
    for entry in dict.fromkeys(r.entry for r in c.rows):
        info = ENTRIES[entry]
        skipped = [a for a in c.attacks if a not in info.attacks]
        if info.ranked and skipped:
            parts.append(f"for {entry}: {', '.join(skipped)}")
    return ("n/a " + "; ".join(parts) + ". ") if parts else "every attack applies to every ranked row. "


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
