"""Is the suite's worst case the worst case? An independent, much heavier attack on trained policies.

For each victim (trained here with the leaderboard's own code, on the quick board's env: 200 items,
10 topics, the language-model catalogue) it measures the sampled return

* under every attack of the suite that applies to the victim, with the frozen defaults of
  ``advrec_gym.attacks.SPECS`` (the learned adversaries trained here with the board's trainer), and
  the suite's **worst case** (the lowest of them);
* under the **heavy attack**: APGD with ``--heavy-steps`` steps and ``--heavy-restarts`` restarts on
  every objective that applies (``action``, ``topk`` at k = 10 and 30, ``semantic``, ``kl``, ``critic``),
  and the query-only attack with ``--heavy-queries`` queries, and its worst case.

The check (what reviewers will do with their own attacks): the suite's worst case is within 10% of
the heavy one, ``suite <= 1.10 * heavy``. Every cell is evaluated on the same users with the same
policy random numbers (common random numbers), so differences are the attacks' doing.

Run::

    ADVREC_CACHE_DIR=/tmp/advrec-cache python benchmarks/attack_strength.py --episodes 64

It prints a table and writes ``benchmarks/results/attack_strength.json``. ``--workdir`` keeps the trained
victims and each victim's finished row between runs: a rerun with the same settings only does what
is missing (the row of a victim is recomputed when any setting changed).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from advrec_gym._io import atomic_write_json, read_json_file
from advrec_gym.attacks import SPECS, Budget, applicable_attacks, evaluate_attack, make_attacker
from benchmarks.leaderboard import entries, envs
from benchmarks.leaderboard.envs import EnvConfig
from benchmarks.leaderboard.protocol import BoardConfig, Row
from benchmarks.provenance import provenance

RESULTS = Path(__file__).parent / "results" / "attack_strength.json"
VICTIMS = {
    "ppo-item": Row("ppo-item"),
    "ppo-item + pgd (rho=1)": Row("ppo-item", "pgd", 1.0),
    "linucb": Row("linucb"),
}
#: the suite's attacks scored here (with LEARNED) (the legacy "pgd" / "critic-pgd" are not part of the suite)
SCORED = ("random", "fgsm", "pgd-action", "pgd-topk", "pgd-semantic", "pgd-kl", "pgd-eot", "mad", "critic", "query")
LEARNED = ("learned", "pa-ad")
HEAVY_OBJECTIVES = (
    ("action", {}),
    ("topk", {"k": 10}),
    ("topk", {"k": 30}),
    ("semantic", {}),
    ("kl", {}),
    ("critic", {}),
)


def board_config(args) -> BoardConfig:
    return BoardConfig(
        name="attack-strength",
        rows=tuple(VICTIMS[v] for v in args.victims),
        norm=args.norm,
        main_eps=args.eps,
        eps_scales=(1.0,),
        train_seeds=(0,),
        eval_seeds=(0,),
        episodes=args.episodes,
        train_steps=args.train_steps,
        bandit_steps=20_000,
        adversary_steps=args.adversary_steps,
        num_envs=32,
        modes=("sampled",),
        env=EnvConfig(num_items=200, num_topics=10),
    )


def trained_policy(name: str, config: BoardConfig, workdir: Path):
    """Train the victim (once: the artifact is kept in ``workdir``) and load it."""
    row = VICTIMS[name]
    folder = workdir / row.slug
    marker = folder / "artifact.txt"
    if not marker.exists():
        outcome = entries.train_row(row, 0, config, folder / "model")
        marker.write_text(str(outcome.artifact))
    venv = envs.make_vec(config.env, config.num_envs)
    return entries.load_policy(row, 0, Path(marker.read_text()), venv, policy_seed=0)


def score(policy, attacker, config: BoardConfig) -> dict[str, float]:
    """Mean sampled return (and its standard error) on the evaluation users, with common random numbers."""
    venv = envs.make_vec(config.env, config.num_envs)
    if attacker is not None:
        attacker.bind(
            venv.single_observation_space, venv.unwrapped.embedding_slice, venv.unwrapped.catalogue.embeddings
        )
    entries.reseed(policy, 0)
    start = time.process_time()
    report = evaluate_attack(venv, policy, attacker, episodes=config.episodes, seed=envs.eval_env_seed(0))
    returns = report.returns
    return {
        "return": round(float(returns.mean()), 4),
        "se": round(float(returns.std(ddof=1) / math.sqrt(len(returns))), 4),
        "cpu_s": round(time.process_time() - start, 1),
        "steps": int(report.steps),
    }


def heavy_attackers(policy, budget: Budget, args) -> dict[str, Any]:
    """The heavy attack's parts that apply to ``policy``."""
    out = {}
    can = set(applicable_attacks(policy))
    for objective, extra in HEAVY_OBJECTIVES:
        needs = "critic" if objective == "critic" else "pgd-topk"
        if needs not in can:
            continue
        label = f"apgd-{args.heavy_steps}x{args.heavy_restarts} {objective}" + (f" k={extra['k']}" if extra else "")
        out[label] = make_attacker(
            "pgd-topk",
            policy,
            budget,
            objective=objective,
            steps=args.heavy_steps,
            restarts=args.heavy_restarts,
            seed=1,
            **extra,
        )
    if "query" in can:
        out[f"query {args.heavy_queries}"] = make_attacker("query", policy, budget, queries=args.heavy_queries, seed=1)
    return out


def run_victim(name: str, config: BoardConfig, args, workdir: Path) -> dict[str, Any]:
    """One victim's row (kept in ``workdir``: a rerun with the same settings reuses it)."""
    path = workdir / VICTIMS[name].slug / "result.json"
    settings = {k: v for k, v in vars(args).items() if k not in ("victims", "workdir", "out")}
    if path.exists():
        saved = read_json_file(path, what="attack-strength victim row")
        if saved.get("settings") == settings:
            print(f"  {name}: reusing {path}", flush=True)
            return saved["result"]
    result = _run_victim(name, config, args, workdir)
    atomic_write_json(path, {"settings": settings, "result": result})
    return result


def _run_victim(name: str, config: BoardConfig, args, workdir: Path) -> dict[str, Any]:
    policy = trained_policy(name, config, workdir)
    budget = Budget(config.main_eps, config.norm)
    result: dict[str, Any] = {"victim": name, "natural": score(policy, None, config), "suite": {}, "heavy": {}}
    can = set(applicable_attacks(policy))
    for attack in SCORED:
        if attack in can:
            result["suite"][attack] = score(policy, make_attacker(attack, policy, budget, seed=0), config)
            print(f"  {name:<24} {attack:<28} {result['suite'][attack]['return']:7.2f}", flush=True)
    result["best_responses"] = {}
    for kind in LEARNED if not args.skip_learned else ():
        if kind not in can:
            continue
        response = entries.train_adversary(policy, config, budget, seed=envs.train_env_seed(0), kind=kind)
        result["suite"][kind] = score(policy, response.attacker(policy, seed=0), config)
        result["best_responses"][kind] = response.summary()
        print(f"  {name:<24} {kind:<28} {result['suite'][kind]['return']:7.2f}", flush=True)
    for label, attacker in heavy_attackers(policy, budget, args).items():
        result["heavy"][label] = score(policy, attacker, config)
        print(f"  {name:<24} {label:<28} {result['heavy'][label]['return']:7.2f}", flush=True)
    suite_attack = min(result["suite"], key=lambda a: result["suite"][a]["return"])
    heavy_attack = min(result["heavy"], key=lambda a: result["heavy"][a]["return"])
    suite_worst, heavy_worst = result["suite"][suite_attack]["return"], result["heavy"][heavy_attack]["return"]
    result.update(
        suite_worst={"attack": suite_attack, "return": suite_worst},
        heavy_worst={"attack": heavy_attack, "return": heavy_worst},
        gap=round((suite_worst - heavy_worst) / max(abs(heavy_worst), 1e-9), 4),
        within_10_percent=bool(suite_worst <= 1.10 * heavy_worst),
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--victims", nargs="+", default=list(VICTIMS), choices=list(VICTIMS))
    parser.add_argument("--eps", type=float, default=0.01)
    parser.add_argument("--norm", default="inf", choices=["inf", "2"])
    parser.add_argument("--episodes", type=int, default=64)
    parser.add_argument("--train-steps", type=int, default=100_000)
    parser.add_argument("--adversary-steps", type=int, default=32_768)
    parser.add_argument("--heavy-steps", type=int, default=100)
    parser.add_argument("--heavy-restarts", type=int, default=10)
    parser.add_argument("--heavy-queries", type=int, default=10_000)
    parser.add_argument("--skip-learned", action="store_true", help="leave out the learned adversaries (faster)")
    parser.add_argument("--workdir", type=Path, default=Path("runs/attack-strength"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    # the commit the run started at (the code it ran)
    stamp = provenance(["python", "benchmarks/attack_strength.py", *(sys.argv[1:] if argv is None else argv)])
    config = board_config(args)
    args.workdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results = [run_victim(name, config, args, args.workdir) for name in args.victims]

    print(
        f"\n{'victim':<24}{'natural':>9}{'suite worst':>13}  {'(attack)':<14}{'heavy worst':>12}  {'(attack)':<30}{'gap':>7}"
    )
    for r in results:
        print(
            f"{r['victim']:<24}{r['natural']['return']:>9.2f}{r['suite_worst']['return']:>13.2f}  "
            f"{r['suite_worst']['attack']:<14}{r['heavy_worst']['return']:>12.2f}  {r['heavy_worst']['attack']:<30}"
            f"{100 * r['gap']:>6.1f}%{'' if r['within_10_percent'] else '  FAILS'}"
        )
    document = {
        "benchmark": "attack_strength",
        "provenance": stamp,
        "env_id": config.env.env_id,
        "hardware": {"processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count()},
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "suite_defaults": {a: SPECS[a].defaults for a in (*SCORED, *LEARNED)},
        "wall_s": round(time.perf_counter() - start, 1),
        "victims": results,
    }
    atomic_write_json(args.out, document)
    print(f"wrote {args.out}")
    return 0 if all(r["within_10_percent"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
