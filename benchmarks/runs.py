"""The command line shared by the benchmarks that study one trained model (``advrec train``'s output folder)."""

from __future__ import annotations

import argparse
from pathlib import Path


def run_parser(doc: str, out: Path, episodes: int) -> argparse.ArgumentParser:
    """A parser with ``--run`` (required; check it with :func:`check_run`), ``--out``, ``--eps`` (the L-inf
    budget, the board's main one by default) and ``--episodes``; ``doc``'s first paragraph describes it."""
    from benchmarks.leaderboard.protocol import MAIN_EPS

    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="a trained run directory (advrec train's output)")
    parser.add_argument("--out", default=str(out), help=f"where the results go (default {out.name})")
    parser.add_argument("--eps", type=float, default=MAIN_EPS["inf"], help="the L-inf budget")
    parser.add_argument("--episodes", type=int, default=episodes, help="evaluation episodes per row")
    return parser


def check_run(parser: argparse.ArgumentParser, run: str) -> None:
    """Exit with a usage error naming ``run`` unless it holds a trained run (its ``config.json``)."""
    if not Path(run, "config.json").is_file():
        parser.error(f"--run: no trained run at {run} (expected its config.json)")
