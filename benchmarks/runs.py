"""The ``--run`` argument of the benchmarks that study one trained model (``advrec train``'s output folder)."""

from __future__ import annotations

import argparse
from pathlib import Path

RUN_HELP = "a trained run directory (advrec train's output)"


def add_run_argument(parser: argparse.ArgumentParser) -> None:
    """``--run RUN_DIR`` (required); check it with :func:`check_run` after parsing."""
    parser.add_argument("--run", required=True, help=RUN_HELP)


def check_run(parser: argparse.ArgumentParser, run: str) -> None:
    """Exit with a usage error naming ``run`` unless it holds a trained run (its ``config.json``)."""
    if not Path(run, "config.json").is_file():
        parser.error(f"--run: no trained run at {run} (expected its config.json)")
