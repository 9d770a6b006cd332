"""The board's figure: worst-case return vs budget per row, with CIs, for a paper.

One panel per mode. Each ranked row is a line through its median worst case at eps = 0 (natural)
and every budget of the grid, with the 95% bootstrap CI of the median as error bars (rows are
dodged a little along x so that their bars do not hide each other). Every row has its own colour
(the Okabe-Ito palette, safe for colour-blind readers) **and** its own marker, so rows stay
distinguishable in greyscale. The oracle is a ceiling, not a contestant: it is a note on the panel,
not a line that would squash the data. The bottom axis gives eps in raw embedding units; the top
axis gives it as a fraction of a history block's L2 norm: the largest share of one block an attack
can move (``eps * sqrt(block_dim)`` for L-inf, ``eps`` for L2) over the block norm (the config's
``block_norm``, else the norm the board measured on its natural cells). Everything comes from the
committed cell summaries (``advrec leaderboard --report-only`` re-plots without any model).

matplotlib is an optional extra (``pip install 'advrec-gym[plots]'``): without it, :func:`plot`
draws nothing and says so.
"""

from __future__ import annotations

import io
import math
import os

import numpy as np

from benchmarks.leaderboard.protocol import NATURAL, BoardConfig
from benchmarks.leaderboard.results import atomic_write_bytes

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision deficiencies.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")


def style(i: int) -> tuple[str, str]:
    """Colour and marker of the ``i``-th row: unique pairs for up to 24 rows (lcm of 8 colours and 12 markers)."""
    return OKABE_ITO[i % len(OKABE_ITO)], MARKERS[i % len(MARKERS)]


def measured_block_norm(records: list[dict], mode: str) -> tuple[float | None, int | None]:
    """The median over natural cells (``mode``) of the mean norm of their non-empty history blocks, and the block size."""
    norms, dims = [], set()
    for r in records:
        if r["attack"] == NATURAL and r["mode"] == mode and r.get("block_norms"):
            nonzero = [x for x in r["block_norms"] if x > 0]
            if nonzero:
                norms.append(float(np.mean(nonzero)))
                dims.add(int(r["block_dim"]))
    if not norms or len(dims) != 1:
        return None, None
    return float(np.median(norms)), dims.pop()


def eps_fraction_scale(config: BoardConfig, block_norm: float | None, block_dim: int | None) -> float | None:
    """The factor from raw eps to "fraction of a history block's norm" (``None`` when it cannot be stated)."""
    if block_norm is None or block_dim is None:
        return None
    per_block = math.sqrt(block_dim) if config.norm == "inf" else 1.0
    return per_block / block_norm


def plot(config: BoardConfig, table: list[dict], records: list[dict], path: str | os.PathLike) -> bool:
    """Draw the figure into ``path`` (PNG, atomically); ``False`` (nothing written) without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig = figure(config, table, records)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return True


def figure(config: BoardConfig, table: list[dict], records: list[dict]):
    """The figure as a matplotlib ``Figure`` (needs matplotlib; :func:`plot` saves it)."""
    import matplotlib.pyplot as plt

    modes = list(config.modes)
    norm = "L-inf" if config.norm == "inf" else "L2"
    measured, dim = measured_block_norm(records, config.primary_mode)
    block_norm = config.block_norm if config.block_norm is not None else measured
    scale = eps_fraction_scale(config, block_norm, dim)
    xs = np.array([0.0, *config.eps_grid])
    rows = [r.name for r in config.rows]
    dodge = 0.012 * xs[-1]
    fig, axes = plt.subplots(1, len(modes), figsize=(6.2 * len(modes) + 2.6, 4.8), squeeze=False, sharey=True)
    for ax, mode in zip(axes[0], modes, strict=True):
        ranked = [t for t in table if t["mode"] == mode and t["worst_over"] != "not attacked"]
        for j, t in enumerate(ranked):
            colour, marker = style(rows.index(t["row"]))
            stats = [t["natural"], *(t["worst"][f"{e:g}"] for e in config.eps_grid)]
            pts = [(x, s) for x, s in zip(xs, stats, strict=True) if s is not None]
            if not pts:
                continue
            x = np.array([p[0] for p in pts]) + (j - (len(ranked) - 1) / 2) * dodge
            med = np.array([p[1].median for p in pts])
            low = np.array([p[1].median if p[1].ci_low is None else p[1].ci_low for p in pts])
            high = np.array([p[1].median if p[1].ci_high is None else p[1].ci_high for p in pts])
            ax.errorbar(
                x, med, yerr=[med - low, high - med], color=colour, marker=marker, ms=5, lw=1.4,
                capsize=2.5, elinewidth=1.0, label=t["row"],
            )  # fmt: skip
        notes = [
            f"{t['row']} (ceiling, not ranked): natural {t['natural'].median:.1f}"
            for t in table
            if t["mode"] == mode and t["worst_over"] == "not attacked" and t["natural"] is not None
        ]
        if notes:
            ax.annotate("\n".join(notes), xy=(0.98, 0.98), xycoords="axes fraction", ha="right", va="top",
                        fontsize=8, bbox={"boxstyle": "round", "fc": "white", "ec": "0.6"})  # fmt: skip
        ax.set_title(f"{mode} actions")
        ax.set_xlabel(f"budget eps ({norm}, raw embedding units; 0 = natural)")
        ax.set_xticks(xs)
        ax.set_xticklabels([f"{e:g}" for e in xs])
        ax.grid(alpha=0.3)
        if scale is not None:
            top = ax.secondary_xaxis("top", functions=(lambda e: e * scale, lambda f: f / scale))
            source = "config" if config.block_norm is not None else "measured on the natural cells"
            top.set_xlabel(f"eps as a fraction of a history block's L2 norm ({block_norm:.3g}, {source})", fontsize=8)
    seeds = len(config.train_seeds)
    axes[0][0].set_ylabel(f"worst-case return (clicks per episode)\nmedian over {seeds} training seeds, 95% CI")
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.suptitle(f"AdvRec leaderboard ({config.name}, {config.env.env_id}): worst case over attacks", fontsize=11)
    fig.tight_layout()
    return fig
