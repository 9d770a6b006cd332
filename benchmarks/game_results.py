"""The game's results: vanilla PPO vs PGD adversarial training vs the learned-adversary game (ATLA).

For each defence and training seed, train a recommender on the default AdvRec-v0 with
:class:`agents.training.Trainer`, then evaluate it on separate evaluation seeds: clean, under random
noise, under PGD, and under a learned adversary trained afresh against it (its best response, so no
entry is scored only against the attacker it trained with), all at one budget. Prints a table of the
median over seeds (with the interquartile range) and writes ``benchmarks/results/game_results.json``
with the per-seed numbers, the command, the commit and the machine.

    python benchmarks/game_results.py                     # the recorded results (about an hour on 2 cores)
    python benchmarks/game_results.py --quick             # a smoke run (minutes), not for the record

Each (defence, seed) run writes its own result file atomically under ``--run-dir`` and is skipped
when that file exists, so an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "game_results.json"
ATTACKS = ("random", "pgd", "learned")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument(
        "--defences",
        nargs="+",
        default=["none", "pgd", "atla"],
        help="defences to compare; NAME@RHO sets that entry's share of attacked steps (e.g. atla@0.5)",
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="training seeds")
    p.add_argument("--eps", type=float, default=0.02, help="attack budget (raw embedding units)")
    p.add_argument("--norm", default="inf", help="'inf' or '2'")
    p.add_argument("--rounds", type=int, default=3, help="rounds of every defence's training")
    p.add_argument("--recommender-steps", type=int, default=50_000, help="recommender steps per round")
    p.add_argument("--attacker-steps", type=int, default=10_000, help="adversary steps per atla round")
    p.add_argument("--best-response-steps", type=int, default=10_000, help="steps of the fresh adversary at evaluation")
    p.add_argument("--pgd-rho", type=float, default=0.2, help="share of PGD-attacked steps for defence pgd")
    p.add_argument("--atla-rho", type=float, default=1.0, help="share of adversary-attacked steps for defence atla")
    p.add_argument("--episodes", type=int, default=50, help="evaluation episodes per cell")
    p.add_argument("--run-dir", default="runs/game_results", help="checkpoints and per-run results")
    p.add_argument("--out", default=str(RESULTS), help="the JSON to write")
    p.add_argument("--quick", action="store_true", help="a small version (one seed, short phases), not for the record")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.rounds = args.seeds[:1], 2
        args.recommender_steps, args.attacker_steps, args.best_response_steps = 10_000, 2_000, 2_000
        args.episodes, args.run_dir = 20, args.run_dir + "-quick"
        if args.out == str(RESULTS):
            args.out = str(RESULTS.with_name("game_results_quick.json"))
    return args


def parse_entry(entry: str, args: argparse.Namespace) -> tuple[str, float | None]:
    """``"atla@0.5"`` -> ("atla", 0.5); a bare name gets ``--pgd-rho`` / ``--atla-rho`` (or the default)."""
    name, _, rho = entry.partition("@")
    return name, float(rho) if rho else {"pgd": args.pgd_rho, "atla": args.atla_rho}.get(name)


def run_config(args: argparse.Namespace, defence: str, seed: int):
    from agents.training import TrainConfig

    name, rho = parse_entry(defence, args)
    return TrainConfig(
        defence=name,
        rho=rho,
        rounds=args.rounds,
        recommender_steps=args.recommender_steps,
        attacker_steps=args.attacker_steps,
        eps=args.eps,
        norm=args.norm,
        seed=seed,
        device="auto",
        output_dir=str(Path(args.run_dir) / f"{defence}-seed{seed}"),
        eval_episodes=args.episodes,
        phase_eval_episodes=0,
        progress_bar=False,
    )


def run_one(args: argparse.Namespace, defence: str, seed: int) -> dict:
    """Train (or resume) one recommender and evaluate it; cached in ``<run>/result.json``."""
    from advrec_gym._io import atomic_write_json, read_json_file
    from agents.training import Trainer, latest_checkpoint
    from agents.training.report import EVAL_SEED_OFFSET, evaluate_recommender, train_best_response

    config = run_config(args, defence, seed)
    result_path = Path(config.output_dir) / "result.json"
    if result_path.is_file():
        return read_json_file(result_path, what="cached result")
    started = time.perf_counter()
    if latest_checkpoint(config.output_dir) is not None:
        trainer = Trainer.resume(config.output_dir)
    else:
        trainer = Trainer(config)
    trainer.train(evaluate=False)
    train_seconds = time.perf_counter() - started
    eval_seed = EVAL_SEED_OFFSET + seed
    adversary = train_best_response(trainer.recommender, config, args.best_response_steps, eval_seed, trainer.device)
    rows = evaluate_recommender(
        trainer.recommender, config, list(ATTACKS), episodes=args.episodes, seed=eval_seed, adversary=adversary
    )
    result = {
        "defence": defence,
        "seed": seed,
        "rho": config.train_rho,
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
    }
    atomic_write_json(result_path, result)
    return result


def summarise(results: list[dict], defences: list[str]) -> list[dict]:
    """Per defence and cell: the median over seeds and the interquartile range."""
    table = []
    for defence in defences:
        runs = [r for r in results if r["defence"] == defence]
        row: dict = {"defence": defence, "seeds": [r["seed"] for r in runs]}
        for cell in ("clean", "greedy", *ATTACKS):
            values = [_cell(r["rows"], cell) for r in runs]
            q1, median, q3 = np.percentile([v["return_mean"] for v in values], [25, 50, 75])
            row[cell] = {"return_median": median, "return_iqr": [q1, q3]}
            if cell in ATTACKS:
                row[cell]["success_rate_median"] = float(np.median([v["success_rate"] for v in values]))
        row["ctr_median"] = float(np.median([_cell(r["rows"], "clean")["ctr"] for r in runs]))
        worst = [min(_cell(r["rows"], a)["return_mean"] for a in ATTACKS) for r in runs]
        row["worst_median"] = float(np.median(worst))
        row["kept_under_worst_median"] = float(
            np.median([w / _cell(r["rows"], "clean")["return_mean"] for w, r in zip(worst, runs, strict=True)])
        )
        table.append(row)
    return table


def _cell(rows: list[dict], name: str) -> dict:
    if name == "greedy":
        return next(r for r in rows if r["attack"] == "clean" and r["actions"] == "greedy")
    return next(r for r in rows if r["attack"] == name and r["actions"] == "sampled")


def format_summary(table: list[dict], args: argparse.Namespace) -> str:
    head = f"{'defence':<11}{'clean':>14}{'greedy':>14}{'random':>14}{'PGD':>14}{'learned':>14}{'worst kept':>12}"
    lines = [
        f"AdvRec-v0 defaults, L{args.norm} eps={args.eps:g}; return median [IQR] over seeds {args.seeds}, "
        f"{args.episodes} evaluation episodes each (sampled actions)",
        head,
    ]
    for row in table:
        cells = "".join(
            f"{row[c]['return_median']:>6.1f} [{row[c]['return_iqr'][0]:.0f}-{row[c]['return_iqr'][1]:.0f}]".rjust(14)
            for c in ("clean", "greedy", *ATTACKS)
        )
        lines.append(f"{row['defence']:<11}{cells}{row['kept_under_worst_median']:>12.2f}")
    lines.append(
        "attack success rate (median): "
        + "; ".join(
            f"{row['defence']}: " + ", ".join(f"{a} {row[a]['success_rate_median']:.2f}" for a in ATTACKS)
            for row in table
        )
    )
    return "\n".join(lines)


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "gpu": gpu, "python": platform.python_version()}


def main(argv: list[str] | None = None) -> int:
    import torch

    torch.set_num_threads(1)
    args = parse_args(argv)
    results = []
    for seed in args.seeds:
        for defence in args.defences:
            print(f"[{dt.datetime.now():%H:%M:%S}] {defence} seed {seed} ...", flush=True)
            results.append(run_one(args, defence, seed))
    table = summarise(results, args.defences)
    text = format_summary(table, args)
    print("\n" + text)
    from advrec_gym._io import atomic_write_json
    from benchmarks.provenance import provenance

    atomic_write_json(
        args.out,
        {
            "provenance": provenance(
                ["python", "benchmarks/game_results.py", *(sys.argv[1:] if argv is None else argv)]
            ),
            "machine": machine(),
            "settings": {k: v for k, v in vars(args).items() if k not in ("out", "run_dir")},
            "table": table,
            "text": text,
            "runs": results,
        },
    )
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
