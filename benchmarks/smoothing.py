"""Test-time randomized smoothing (policy smoothing) of trained PPO recommenders, against the white-box suite.

    python benchmarks/smoothing.py --run vanilla=RUN_DIR --run noise=RUN_DIR --eot-copies 32   # the committed result
    python benchmarks/smoothing.py --run vanilla=RUN_DIR --quick                # a smoke run, not for the record

Each ``--run NAME=DIR`` is a trained run (``advrec train``'s or ``benchmarks/v1_dynamics.py``'s
``runs/ppo-seed-K``). Two stages per run, each its own JSON under ``--out`` (a rerun resumes;
``--force`` recomputes):

1. ``select-NAME.json``: the clean return of the smoothed policy (:func:`agents.defences.smoothed`)
   for every noise scale of ``--sigmas`` on *training* users (the seeds ``TUNE_SEEDS`` of
   ``benchmarks/v1_dynamics.py``, ``--select-episodes`` each); the chosen ``sigma`` is the largest
   whose clean return there stays within ``--clean-tolerance`` (10%) of the unsmoothed policy's: the most
   noise the clean-return constraint allows (robustness can only be bought with noise).
2. ``attacks-NAME.json``: on the *evaluation* users (``EVAL_SEED``, ``--episodes`` episodes, the same
   users for every row), the unsmoothed policy and the chosen smoothing, clean and under every attack
   of ``--attacks`` at the L-inf budget ``--eps`` (the board's main budget). The attacks differentiate
   through the smoothed policy's own ``--copies``-draw estimate with fresh noise on every pass
   (expectation over transformation: the adaptive attack).

``report.md`` is the table: per run and sigma, clean and attacked returns, the worst case and its
attack, and both against the unsmoothed vanilla policy (the first ``--run``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.leaderboard.protocol import MAIN_EPS  # the v1 board's main budgets
from benchmarks.seeds import EVAL_SEED  # the reported users
from benchmarks.v1_dynamics import TUNE_SEEDS  # the training users

ROOT = Path(__file__).resolve().parent
SIGMAS = (0.0, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05)
ATTACKS = ("random", "fgsm", "pgd-topk", "pgd-kl", "pgd-eot")


def _stamp(command: list[str]) -> dict:
    from benchmarks.provenance import provenance

    return provenance(["python", "benchmarks/smoothing.py", *command])


def _write(path: Path, data: dict) -> None:
    from advrec_gym._io import atomic_write_json

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, data)


def _load(run: str, eps: float):
    """The run's recommender and config (at the budget ``eps``) and its env's embedding slice."""
    from agents.training.load import load_players
    from agents.training.players import recommender_view

    loaded = load_players(run, eps=eps, norm="inf")
    return loaded.recommender, loaded.config, recommender_view(loaded.config, num_envs=1).unwrapped.embedding_slice


def select(args, name: str, run: str, log) -> dict:
    """Clean return of each sigma on training users; the largest sigma within the tolerance."""
    from advrec_gym.evaluation import evaluate
    from agents.defences import smoothed
    from agents.training.players import recommender_view

    model, config, embedding = _load(run, args.eps)
    venv = recommender_view(config, num_envs=min(100, args.select_episodes), evaluation=True)
    grid = []
    for sigma in args.sigmas:
        policy = smoothed(model, sigma, embedding, copies=args.copies, seed=0)
        returns = [evaluate(venv, policy, episodes=args.select_episodes, seed=s).mean_return for s in TUNE_SEEDS]
        grid.append({"sigma": sigma, "return": float(np.mean(returns)), "by_seed": [float(r) for r in returns]})
        log(f"{name}: sigma {sigma:g} clean on training users {grid[-1]['return']:.2f}")
    base = next(g["return"] for g in grid if g["sigma"] == 0.0)
    allowed = [g["sigma"] for g in grid if g["return"] >= (1.0 - args.clean_tolerance) * base]
    return {
        "run": run,
        "seeds": list(TUNE_SEEDS),
        "episodes_per_seed": args.select_episodes,
        "copies": args.copies,
        "clean_tolerance": args.clean_tolerance,
        "sigmas": list(args.sigmas),
        "grid": grid,
        "sigma": max(allowed),
    }


def attacks(args, name: str, run: str, sigma: float, log) -> dict:
    """The unsmoothed policy and the smoothing at ``sigma``, clean and under the attacks, on the evaluation users."""
    from agents.defences import smoothed
    from agents.training.report import evaluate_recommender

    model, config, embedding = _load(run, args.eps)
    started = time.perf_counter()
    by_sigma = []
    for s in sorted({0.0, sigma}):
        policy = smoothed(model, s, embedding, copies=args.copies, seed=0)
        rows = evaluate_recommender(policy, config, list(args.attacks), episodes=args.episodes, seed=EVAL_SEED)
        if s > 0 and args.eot_copies:  # the strongest attack again, its gradient from more noise draws
            strong = smoothed(model, s, embedding, copies=args.eot_copies, seed=1)
            check = evaluate_recommender(
                policy, config, [args.eot_attack], episodes=args.episodes, seed=EVAL_SEED, greedy=False,
                attacked_view=strong,
            )  # fmt: skip
            rows.append({**check[1], "attack": f"{args.eot_attack} (EOT {args.eot_copies})"})
        by_sigma.append({"sigma": s, "rows": rows})
        worst = _worst(rows)
        log(
            f"{name}: sigma {s:g} clean {rows[0]['return_mean']:.2f}, worst {worst['attack']} {worst['return_mean']:.2f}"
        )
    return {
        "run": run,
        "eps": args.eps,
        "norm": "inf",
        "episodes": args.episodes,
        "eval_seed": EVAL_SEED,
        "copies": args.copies,
        "attacks": list(args.attacks),
        "eot_copies": args.eot_copies,
        "eot_attack": args.eot_attack,
        "by_sigma": by_sigma,
        "wall_s": round(time.perf_counter() - started, 1),
    }


def _worst(rows: list[dict]) -> dict:
    return min((r for r in rows if r["attack"] != "clean"), key=lambda r: r["return_mean"])


def report(selected: dict[str, dict], attacked: dict[str, dict]) -> str:
    """The table: every run's unsmoothed and smoothed rows, against the first run's unsmoothed one."""
    first = next(iter(attacked.values()))
    names = ["clean", *first["attacks"]]
    extra = [r["attack"] for d in attacked.values() for b in d["by_sigma"] for r in b["rows"]]
    names += list(dict.fromkeys(a for a in extra if a not in names))  # the EOT check's rows
    vanilla = first["by_sigma"][0]
    v_clean, v_worst = vanilla["rows"][0]["return_mean"], _worst(vanilla["rows"])["return_mean"]
    lines = [
        f"Test-time Gaussian smoothing at L-inf eps {first['eps']:g}, {first['episodes']} episodes per cell on the "
        f"evaluation users (seed {first['eval_seed']}), sampled actions; smoothing estimates from {first['copies']} "
        "noise draws per call, attacked through that estimate (EOT). sigma chosen on training users "
        f"(seeds {list(TUNE_SEEDS)}): the largest of the grid whose clean return stays within "
        f"{100 * next(iter(selected.values()))['clean_tolerance']:.0f}% of the unsmoothed policy's.",
        "",
        "| run | sigma | "
        + " | ".join(names)
        + " | worst +- SE (attack) | clean / vanilla | worst / vanilla's worst |",
        "|---|---:|" + "---:|" * len(names) + "---|---:|---:|",
    ]
    for name, data in attacked.items():
        for block in data["by_sigma"]:
            by = {r["attack"]: r for r in block["rows"] if r["actions"] == "sampled"}
            worst = _worst(block["rows"])
            se = worst["return_std"] / np.sqrt(worst["episodes"])
            cells = " | ".join(f"{by[a]['return_mean']:.2f}" if a in by else "-" for a in names)
            lines.append(
                f"| {name} | {block['sigma']:g} | {cells} | {worst['return_mean']:.2f} +- {se:.2f} ({worst['attack']}) | "
                f"{by['clean']['return_mean'] / v_clean:.2f} | {worst['return_mean'] / v_worst:.2f} |"
            )
    lines += ["", "sigma selection (clean return on training users):", ""]
    for name, data in selected.items():
        grid = ", ".join(f"{g['sigma']:g}: {g['return']:.2f}" for g in data["grid"])
        lines.append(f"- {name}: {grid} -> sigma {data['sigma']:g}")
    return "\n".join(lines) + "\n"


def _runs(specs: list[str], parser) -> dict[str, str]:
    runs = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            parser.error(f"--run takes NAME=DIR (e.g. vanilla=runs/ppo-seed-0), got {spec!r}")
        if not name.replace("-", "").replace("_", "").isalnum():
            parser.error(f"--run's NAME names files: letters, digits, '-' and '_' only, got {name!r}")
        if name in runs:
            parser.error(f"--run NAME {name!r} given twice")
        if not Path(path).is_dir():
            parser.error(f"--run {name}: no run directory at {path}")
        runs[name] = path
    return runs


def main(argv=None) -> int:
    from agents.training.config import EVAL_ATTACKS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="append", required=True, metavar="NAME=DIR", help="a trained run (repeatable)")
    parser.add_argument("--out", default=str(ROOT / "results" / "v1_smoothing"))
    parser.add_argument("--sigmas", type=float, nargs="+", default=list(SIGMAS), help="the noise scales to select from")
    parser.add_argument("--clean-tolerance", type=float, default=0.1, help="clean return the selection may give up")
    parser.add_argument("--copies", type=int, default=8, help="noise draws per call of the smoothed policy")
    parser.add_argument("--select-episodes", type=int, default=100, help="episodes per training seed of the selection")
    parser.add_argument("--episodes", type=int, default=100, help="evaluation episodes per cell")
    parser.add_argument("--eps", type=float, default=MAIN_EPS["inf"], help="the L-inf budget of the attacks")
    parser.add_argument(
        "--attacks", nargs="+", default=list(ATTACKS), choices=[a for a in EVAL_ATTACKS if a != "learned"]
    )
    parser.add_argument(
        "--eot-copies",
        type=int,
        default=0,
        help="also attack the smoothed policy with --eot-attack differentiating an estimate from this many "
        "noise draws (0: not)",
    )
    parser.add_argument("--eot-attack", default="pgd-topk", choices=[a for a in EVAL_ATTACKS if a != "learned"])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not for the record")
    parser.add_argument("--force", action="store_true", help="recompute every stage")
    args = parser.parse_args(argv)
    runs = _runs(args.run, parser)
    if args.eps <= 0 or args.copies < 1 or args.episodes < 1 or args.select_episodes < 1 or args.eot_copies < 0:
        parser.error("--eps must be > 0, --copies, --episodes, --select-episodes >= 1 and --eot-copies >= 0")
    if any(s < 0 for s in args.sigmas) or 0.0 not in args.sigmas:
        parser.error(f"--sigmas must be >= 0 and include 0 (the unsmoothed policy), got {args.sigmas}")
    if not 0.0 <= args.clean_tolerance < 1.0:
        parser.error(f"--clean-tolerance must be in [0, 1), got {args.clean_tolerance}")
    if args.quick:
        args.select_episodes, args.episodes, args.copies = 16, 16, 2
        args.sigmas, args.attacks = [0.0, 0.01], ["fgsm", "pgd-topk"]
        args.out = str(Path(args.out).with_name(Path(args.out).name + "_quick"))
    out = Path(args.out)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    stamp = _stamp(sys.argv[1:] if argv is None else list(argv))

    settings = {
        "select": {
            "copies": args.copies,
            "episodes_per_seed": args.select_episodes,
            "clean_tolerance": args.clean_tolerance,
            "sigmas": list(args.sigmas),
        },
        "attacks": {
            "copies": args.copies,
            "episodes": args.episodes,
            "eps": args.eps,
            "attacks": list(args.attacks),
            "eot_copies": args.eot_copies,
            "eot_attack": args.eot_attack,
        },
    }

    def stage(kind: str, name: str, compute) -> dict:
        path = out / f"{kind}-{name}.json"
        if path.exists() and not args.force:
            data = json.loads(path.read_text())
            stored = {k: data.get(k) for k in settings[kind]}
            if stored != settings[kind]:
                parser.error(
                    f"{path} was computed with {stored}, not {settings[kind]}: rerun with --force, or another --out"
                )
            return data
        data = {**compute(), "stamp": stamp}
        _write(path, data)
        return data

    selected = {n: stage("select", n, lambda n=n, r=r: select(args, n, r, log)) for n, r in runs.items()}
    attacked = {
        n: stage("attacks", n, lambda n=n, r=r: attacks(args, n, r, selected[n]["sigma"], log)) for n, r in runs.items()
    }
    text = report(selected, attacked)
    (out / "report.md").write_text(text + f"\n`{stamp['command']}` at {stamp['commit']}\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
