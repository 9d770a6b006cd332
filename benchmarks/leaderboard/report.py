"""Write a board: ``leaderboard.csv``, ``.json``, ``.md`` and ``leaderboard.png``, stamped with their origin.

The stamp names the commit, the command, the machine and the date. The JSON holds the stamp, the
config, the table, and one record per (entry, defence, training seed, attack, eps, mode) plus the
training costs, so that anyone can recompute the table (:func:`~.aggregate.aggregate` on them).
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
from pathlib import Path

import numpy as np

from advrec_gym._optional import import_optional
from benchmarks.leaderboard.aggregate import NOT_ATTACKED, Stat, cell_name
from benchmarks.leaderboard.protocol import ENTRIES, BoardConfig
from benchmarks.leaderboard.results import atomic_write_bytes
from benchmarks.leaderboard.runner import BoardData
from benchmarks.provenance import provenance

STAT_FIELDS = ("median", "q25", "q75")


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
    cols = ["rank", "row", "entry", "defence", "rho", "mode", "ranked", "complete", "worst_over", "seeds"]
    cols += [f"{s}_{f}" for s in stats for f in STAT_FIELDS]
    return cols + ["train_env_steps", "train_wall_s"]


def flat_row(t: dict) -> dict:
    """One table row as a flat dict over :func:`table_columns` (``n/a`` for inapplicable, empty for missing)."""
    out = {k: t[k] for k in ("rank", "row", "entry", "defence", "rho", "mode", "ranked", "complete", "worst_over")}
    out["seeds"] = t["natural"].n if t["natural"] else 0
    stats = {"natural": t["natural"], "ctr": t["ctr"], **t["cells"]}
    if t["worst_over"] == NOT_ATTACKED:  # the oracle: no worst case, drop or AUC to speak of
        stats.update({f"worst@{e}": "n/a" for e in t["worst"]}, worst="n/a", drop="n/a", auc="n/a")
    else:
        stats.update({f"worst@{e}": s for e, s in t["worst"].items()})
        stats.update(worst=t["worst_main"], drop=t["drop"], auc=t["auc"])
    for name, s in stats.items():
        for f in STAT_FIELDS:
            out[f"{name}_{f}"] = s if s == "n/a" else ("" if s is None else round(getattr(s, f), 6))
    out["train_env_steps"], out["train_wall_s"] = t["train_env_steps"], t["train_wall_s"]
    return out


# --------------------------------------------------------------------------- writers
def write_report(data: BoardData, table: list[dict], out: str | os.PathLike, command: str) -> dict[str, Path]:
    """Write the four files into ``out``; return their paths by kind."""
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
        "cell_commits": data.commits,
        "config": data.config.to_dict(),
        "missing_cells": data.missing,
        "table": [_jsonable(t) for t in table],
        "records": data.records,
        "training": data.training,
    }
    atomic_write_bytes(paths["json"], (json.dumps(doc, indent=1, allow_nan=False) + "\n").encode())
    atomic_write_bytes(paths["md"], markdown(data, table, info).encode())
    plot(data.config, table, paths["png"])
    return paths


def _jsonable(t: dict) -> dict:
    def conv(v):
        if isinstance(v, Stat):
            return v.to_dict()
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v

    return conv(t)


def fmt(s: Stat | str | None, percent: bool = False) -> str:
    """``12.30 [11.00, 13.10]`` (median [25th, 75th percentile]); ``n/a``; ``-`` for missing."""
    if s is None:
        return "-"
    if isinstance(s, str):
        return s
    if percent:
        return f"{100 * s.median:.0f}% [{100 * s.q25:.0f}, {100 * s.q75:.0f}]"
    return f"{s.median:.2f} [{s.q25:.2f}, {s.q75:.2f}]"


def markdown(data: BoardData, table: list[dict], info: dict) -> str:
    """The board as Markdown: one ranked table per mode at the main eps, then every budget."""
    c = data.config
    main = c.eps_grid[c.eps_scales.index(1.0)]
    norm = "L-inf" if c.norm == "inf" else "L2"
    lines = [
        f"# AdvRec leaderboard ({c.name})",
        "",
        f"- commit `{info['commit']}`"
        + (" with uncommitted changes" if info.get("dirty") else "")
        + (f" (cells computed at {', '.join(data.commits)})" if data.commits else ""),
        f"- command `{info['command']}`",
        f"- machine {info['machine']}",
        f"- date {info['date']}",
        "",
        f"Each cell: median [25th, 75th percentile] over {len(c.train_seeds)} training seeds; each trained policy is "
        f"scored on {len(c.eval_seeds)} evaluation seed(s) x {c.episodes} episodes (users disjoint from training). "
        f"Budget: {norm}, main eps {main:g} (grid {', '.join(f'{e:g}' for e in c.eps_grid)}) in raw embedding units. "
        f"Env: {c.env.num_items} items / {c.env.num_topics} topics"
        + ("" if c.env.random_embedding_dim is None else f" (random {c.env.random_embedding_dim}-d embeddings)")
        + f"; PPO {c.train_steps:,} steps, LinUCB {c.bandit_steps:,} steps, learned adversary {c.adversary_steps:,} steps.",
        "",
    ]
    head = ["rank", "entry", "defence", "natural", "CTR", *c.attacks, "worst", "drop", "AUC", "train steps", "train s"]
    for mode in c.modes:
        lines += [f"## {mode.capitalize()} actions, attacks at eps = {main:g} (ranked by worst case)", ""]
        lines += [_md_row(head), _md_row(["---"] * len(head))]
        rows = [t for t in table if t["mode"] == mode]
        for t in sorted(rows, key=lambda t: (t["rank"] is None, t["rank"] or 0)):
            cells = [fmt(t["cells"][cell_name(a, main)]) for a in c.attacks]
            lines.append(
                _md_row(
                    [
                        str(t["rank"]) if t["rank"] else "ceiling" if not t["ranked"] else "-",
                        t["entry"],
                        t["defence"] + ("" if t["rho"] is None else f" (rho={t['rho']:g})"),
                        fmt(t["natural"]),
                        fmt(t["ctr"]),
                        *cells,
                        *_robustness(t),
                        "-" if t["train_env_steps"] is None else f"{t['train_env_steps']:,.0f}",
                        "-" if t["train_wall_s"] is None else f"{t['train_wall_s']:.0f}",
                    ]
                )
            )
        lines.append("")
    lines += [f"## Every budget ({c.primary_mode} actions)", ""]
    grid_head = ["entry", "defence", *(cell_name(a, e) for a in c.attacks for e in c.eps_grid)]
    grid_head += [f"worst@{e:g}" for e in c.eps_grid]
    lines += [_md_row(grid_head), _md_row(["---"] * len(grid_head))]
    for t in (t for t in table if t["mode"] == c.primary_mode):
        cells = [fmt(t["cells"][cell_name(a, e)]) for a in c.attacks for e in c.eps_grid]
        na = t["worst_over"] == NOT_ATTACKED
        worst = ["n/a" if na else fmt(t["worst"][f"{e:g}"]) for e in c.eps_grid]
        defence = t["defence"] + ("" if t["rho"] is None else f" (rho={t['rho']:g})")
        lines.append(_md_row([t["entry"], defence, *cells, *worst]))
    lines += ["", "## How to read it", ""]
    lines += [
        "- **worst**: per training seed, the lowest return over the attacks applicable to the row, then the "
        "median over seeds. White-box attacks (fgsm, pgd-10, critic-pgd) need a torch policy: for random, "
        "popularity and LinUCB they are n/a and the worst case is over the black-box attacks (random noise, the "
        "learned adversary) only. The oracle reads the hidden interests; it is a ceiling, never attacked or ranked.",
        "- **drop**: 1 - worst / natural at the main eps, per seed. **AUC**: the area under the worst-case "
        "return-vs-eps curve (trapezoid over eps = 0 (natural) and the grid) divided by the largest eps: the mean "
        "worst-case return over [0, eps_max], in return units (equal to natural when no attack hurts).",
        "- **learned**: a PPO adversary trained afresh against each (row, training seed, eps), against the policy "
        f"acting as in {c.primary_mode} mode; the other mode's columns use the same adversary.",
        "- LinUCB learns online while it trains, then is frozen; every entry is scored as a fixed policy.",
        "- `*` after a worst case: some cells of the row are missing (failed or not yet run); see the JSON's "
        "`missing_cells`.",
    ]
    for entry in c.entry_names():
        lines.append(f"- `{entry}`: {ENTRIES[entry].description}.")
    if data.missing:
        lines += ["", f"**{len(data.missing)} cells missing** (the board is incomplete)."]
    lines += ["", "![return vs eps](leaderboard.png)", ""]
    return "\n".join(lines)


def _robustness(t: dict) -> list[str]:
    """The worst / drop / AUC cells of a table row (``n/a`` for a row that is never attacked)."""
    if t["worst_over"] == NOT_ATTACKED:
        return ["n/a"] * 3
    return [fmt(t["worst_main"]) + ("" if t["complete"] else " *"), fmt(t["drop"], percent=True), fmt(t["auc"])]


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def plot(config: BoardConfig, table: list[dict], path: str | os.PathLike) -> None:
    """Worst-case return vs eps per row (median line, IQR band), one panel per mode; the oracle dashed."""
    matplotlib = import_optional("matplotlib", "The leaderboard's plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = list(config.modes)
    fig, axes = plt.subplots(1, len(modes), figsize=(6.5 * len(modes), 4.5), squeeze=False, sharey=True)
    xs = [0.0, *config.eps_grid]
    for ax, mode in zip(axes[0], modes, strict=True):
        for t in (t for t in table if t["mode"] == mode):
            if t["worst_over"] == NOT_ATTACKED:
                if t["natural"] is not None:
                    ax.axhline(t["natural"].median, color="gray", ls="--", lw=1, label=f"{t['row']} (ceiling)")
                continue
            stats = [t["natural"], *(t["worst"][f"{e:g}"] for e in config.eps_grid)]
            pts = [(x, s) for x, s in zip(xs, stats, strict=True) if s is not None]
            if not pts:
                continue
            x = [p[0] for p in pts]
            (line,) = ax.plot(x, [p[1].median for p in pts], marker="o", lw=1.5, label=t["row"])
            ax.fill_between(x, [p[1].q25 for p in pts], [p[1].q75 for p in pts], color=line.get_color(), alpha=0.18)
        ax.set_title(f"{mode} actions: worst case over attacks")
        ax.set_xlabel(f"eps ({'L-inf' if config.norm == 'inf' else 'L2'}, raw embedding units)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("episode return (median, IQR band)")
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.suptitle(f"AdvRec leaderboard ({config.name})")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
