"""``advrec leaderboard``: rebuild the robustness leaderboard (resumable; ``--quick`` for a small one)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agents.commands.movielens_option import add_movielens_option, movielens_folder

NAME = "leaderboard"
HELP = (
    "Train and attack every entry of the leaderboard and write leaderboard.csv/.json/.md/.png. "
    "Finished cells are kept under OUT/cells (small, meant to be committed), so an interrupted run resumes "
    "where it stopped, also on a fresh clone."
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
        "--workers",
        type=int,
        default=None,
        help="cells run at once: processes (spawn, 1 torch thread each; default 1) or Ray tasks in flight "
        "(default: the cluster's CPUs)",
    )
    parser.add_argument(
        "--executor",
        default="process",
        choices=["process", "ray"],
        help="where cells run: a local process pool, or Ray core tasks (the [ray] extra; joins $RAY_ADDRESS "
        "when set, else starts a local Ray); OUT must be on storage every node sees",
    )
    parser.add_argument(
        "--env-id", default=None, choices=["AdvRec-v1", "AdvRec-v0"], help="override the board's env id"
    )
    add_movielens_option(
        parser,
        "an ml-100k folder: the board runs on AdvRec-MovieLens-v1 over it (entries trained on its training users, "
        "scored on its held-out users; the supervised entry is left out)",
    )
    parser.add_argument(
        "--commit-cells",
        action="store_true",
        help="git-commit each finished cell file as it lands (batched, see --commit-interval); OUT must be "
        "under benchmarks/results",
    )
    parser.add_argument(
        "--commit-interval", type=float, default=300.0, help="seconds between two commits of finished cells"
    )
    parser.add_argument(
        "--stop-after",
        type=float,
        default=None,
        metavar="HOURS",
        help="start no training after this many hours; the models trained by then are still scored, so a run "
        "sized to a machine's lease ends with every finished cell written (and committed with --commit-cells)",
    )
    parser.add_argument(
        "--recompute-other-commits",
        action="store_true",
        help="recompute the cells computed at another code commit than this checkout's (a board is computed "
        "at one commit)",
    )
    parser.add_argument(
        "--allow-mixed-commits",
        action="store_true",
        help="write the report even if its cells come from several code commits (flagged at the top)",
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
    if args.executor != "process":
        parts += ["--executor", args.executor]
    if args.workers is not None:
        parts += ["--workers", str(args.workers)]
    if args.out is not None:
        parts += ["--out", str(args.out)]
    if args.config is not None:
        parts += ["--config", str(args.config)]
    if args.norm != "inf":
        parts += ["--norm", args.norm]
    if args.entries:
        parts += ["--entries", args.entries]
    if args.env_id:
        parts += ["--env-id", args.env_id]
    if args.movielens:
        parts += ["--movielens", str(args.movielens)]
    if args.report_only:
        parts.append("--report-only")
    return " ".join(parts)


def load_config(path: str | Path):
    """A :class:`~benchmarks.leaderboard.protocol.BoardConfig` from a YAML or JSON file (errors name the file and line)."""
    from advrec_gym._io import read_config_file
    from benchmarks.leaderboard.protocol import BoardConfig

    return BoardConfig.from_dict(read_config_file(path, what="board config"))


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from benchmarks.leaderboard import entries, protocol
    from benchmarks.leaderboard.aggregate import aggregate
    from benchmarks.leaderboard.report import MixedCommitsError, write_report
    from benchmarks.leaderboard.runner import collect, run_board

    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got --workers {args.workers}.")
    if args.commit_interval < 0:
        raise ValueError(f"--commit-interval must be >= 0 seconds, got --commit-interval {args.commit_interval}.")
    if args.stop_after is not None and not args.stop_after > 0:
        raise ValueError(f"--stop-after must be > 0 hours, got --stop-after {args.stop_after}.")
    if args.report_only and (args.commit_cells or args.recompute_other_commits or args.stop_after is not None):
        raise ValueError(
            "--report-only computes nothing: it takes neither --commit-cells, --recompute-other-commits nor "
            "--stop-after."
        )
    if args.movielens and args.env_id:
        raise ValueError(f"--movielens runs AdvRec-MovieLens-v1; give --movielens or --env-id {args.env_id}, not both.")
    movielens = movielens_folder(args)  # checked before any work
    if args.config is not None:
        if args.quick:
            raise ValueError("Give --quick or --config, not both.")
        config = load_config(args.config)
    else:
        preset = protocol.quick if args.quick else protocol.full
        # the supervised row joins the full board when its policy is importable (too slow for --quick);
        # it logs the synthetic catalogue, so a MovieLens board goes without it
        supervised = entries.supervised_available() and not args.quick and movielens is None
        config = preset(args.norm, include_supervised=supervised)
    if args.entries:
        config = config.with_entries([e.strip() for e in args.entries.split(",") if e.strip()])
    if args.env_id:
        config = dataclasses.replace(config, env=dataclasses.replace(config.env, env_id=args.env_id))
    if movielens is not None:
        config = dataclasses.replace(config, env=dataclasses.replace(config.env, movielens=movielens))
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
        data, summary = run_board(
            config,
            out,
            workers=args.workers,
            progress=args.progress,
            executor=args.executor,
            commit_cells=args.commit_cells,
            commit_interval_s=args.commit_interval,
            recompute_other_commits=args.recompute_other_commits,
            stop_after_s=None if args.stop_after is None else args.stop_after * 3600,
        )
        for line in summary.lines():
            print(line)
    table = aggregate(data.records, data.training, config)
    try:
        paths = write_report(data, table, out, command_line(args), allow_mixed_commits=args.allow_mixed_commits)
    except MixedCommitsError as err:
        print(f"advrec leaderboard: refusing to write the report. {err}", file=sys.stderr)
        again = command_line(args).replace(" --report-only", "")
        print(f"  to recompute the others at this checkout: {again} --recompute-other-commits", file=sys.stderr)
        return 1
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    if data.missing:
        print(f"advrec leaderboard: {len(data.missing)} cells missing; the board is incomplete.", file=sys.stderr)
        return 1
    return 0
