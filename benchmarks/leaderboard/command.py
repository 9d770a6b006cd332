"""``advrec leaderboard``: rebuild the robustness leaderboard (resumable; ``--quick`` for a small one)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "leaderboard"
HELP = (
    "Train and attack every entry of the leaderboard and write leaderboard.csv/.json/.md/.png. "
    "Finished cells are kept under OUT/runs, so an interrupted run resumes where it stopped."
)


def default_out(quick: bool) -> Path:
    """``benchmarks/results`` (``benchmarks/results/quick`` for ``--quick``) under the current directory.

    Relative to where the command runs, never to where the package is installed (an installed copy
    would otherwise write into site-packages); run from the repository root, it is the committed board's folder.
    """
    root = Path.cwd() / "benchmarks" / "results"
    return root / "quick" if quick else root


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="the small board (minutes on 2 cores) instead of the full one"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="processes running cells in parallel (spawn, 1 torch thread each)"
    )
    parser.add_argument(
        "--out",
        default=None,
        help="output folder (default: ./benchmarks/results under the current directory, "
        "./benchmarks/results/quick with --quick, or the --config file path without its suffix)",
    )
    parser.add_argument(
        "--config", default=None, help="a board config file (YAML or JSON, BoardConfig's fields) instead of a preset"
    )
    parser.add_argument(
        "--norm", default="inf", choices=["inf", "2"], help="the budget's norm: L-inf (main track) or L2"
    )
    parser.add_argument(
        "--entries", default=None, help="comma-separated entries to run (e.g. random,popularity,linucb); default all"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="compute nothing: rebuild the report from the cells on disk"
    )
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=True, help="show the progress bars"
    )


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run (for the report's stamp)."""
    parts = ["advrec", NAME]
    if args.quick:
        parts.append("--quick")
    if args.workers != 1:
        parts += ["--workers", str(args.workers)]
    if args.out is not None:
        parts += ["--out", str(args.out)]
    if args.config is not None:
        parts += ["--config", str(args.config)]
    if args.norm != "inf":
        parts += ["--norm", args.norm]
    if args.entries:
        parts += ["--entries", args.entries]
    if args.report_only:
        parts.append("--report-only")
    return " ".join(parts)


def load_config(path: str | Path):
    """A :class:`~benchmarks.leaderboard.protocol.BoardConfig` from a YAML or JSON file (errors name the file and line)."""
    from advrec_gym._io import read_config_file
    from benchmarks.leaderboard.protocol import BoardConfig

    return BoardConfig.from_dict(read_config_file(path, what="board config"))


def run(args: argparse.Namespace) -> int:
    from benchmarks.leaderboard import entries, protocol
    from benchmarks.leaderboard.aggregate import aggregate
    from benchmarks.leaderboard.report import write_report
    from benchmarks.leaderboard.runner import collect, run_board

    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got --workers {args.workers}.")
    if args.config is not None:
        if args.quick:
            raise ValueError("Give --quick or --config, not both.")
        config = load_config(args.config)
    else:
        preset = protocol.quick if args.quick else protocol.full
        # the supervised row joins the full board when its policy is importable (too slow for --quick)
        config = preset(args.norm, include_supervised=entries.supervised_available() and not args.quick)
    if args.entries:
        config = config.with_entries([e.strip() for e in args.entries.split(",") if e.strip()])
    if args.out:
        out = Path(args.out)
    else:
        out = default_out(args.quick) if args.config is None else Path(args.config).with_suffix("")
    if args.report_only:
        data = collect(config, out)
        if data.problems:
            for err in data.problems:
                print(f"advrec leaderboard: {err}", file=sys.stderr)
            print(
                "advrec leaderboard: refusing to report unusable cell files; rerun without --report-only "
                "to recompute them.",
                file=sys.stderr,
            )
            return 1
    else:
        data, summary = run_board(config, out, workers=args.workers, progress=args.progress)
        for line in summary.lines():
            print(line)
    table = aggregate(data.records, data.training, config)
    paths = write_report(data, table, out, command_line(args))
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    if data.missing:
        print(f"advrec leaderboard: {len(data.missing)} cells missing; the board is incomplete.", file=sys.stderr)
        return 1
    return 0
