"""Does AdvRec-v1 reward planning? The oracle gap, the heuristics against PPO, return against CTR.

    python benchmarks/v1_dynamics.py                       # the committed result (about an hour on 2 cores)
    python benchmarks/v1_dynamics.py --quick               # a smoke run (minutes), not for the record

Stages, each written as its own JSON under ``--out`` (so a rerun resumes; ``--force`` recomputes):

1. ``tuned.json``: the planning oracle's budget value and the heuristics' weights, by grid search on
   *training* users (evaluation seeds 0..2 of the grid, disjoint from the reported users).
2. ``references.json``: every reference policy (random, popularity, the nearest-neighbour heuristics,
   the myopic and the planning oracle) with its tuned settings, and every grid point, on the
   *evaluation* users (seed 20000, ``--episodes`` episodes, the same users for every policy).
3. ``ppo-seed-K.json``: vanilla PPO with the item-embedding policy (``advrec train``'s defaults,
   ``--ppo-steps`` steps, learning curve every ``--curve-every`` steps on the training run's evaluation
   users), then evaluated on the same evaluation users as the references. A ``--ppo-steps`` above a
   stored run's continues that run (more phases of its steps per phase, from its last checkpoint).
4. ``attacks-seed-K.json``: each trained PPO recommender on the same evaluation users under the
   white-box suite (``--attacks``) at every L-inf budget of ``--attack-eps``, with the budgets also
   stated against the clean history blocks' L2 norm (an L-inf ball of radius eps over a d-dim block
   reaches L2 eps * sqrt(d)).
5. ``report.md`` and ``return_vs_ctr.png``: the table (PPO against the best heuristic, paired over
   the same users), the attack table, and the scatter of return against CTR over all policies (grid
   points and PPO's learning-curve points included).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import advrec_gym
from advrec_gym.evaluation import evaluate
from agents.training.config import EVAL_ATTACKS
from benchmarks.seeds import EVAL_SEED  # the reported users

ROOT = Path(__file__).resolve().parent
ATTACKS = ("random", "fgsm", "pgd-action", "pgd-topk", "pgd-semantic", "pgd-kl")
ATTACK_EPS = (0.002, 0.005, 0.01)
TUNE_SEEDS = (30_000, 31_000, 32_000)  # training users for the grid searches
PLANNER_GRID = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
NN_GRID = {
    "fatigue_weight": (0.5, 1.0, 2.0),
    "regret_weight": (0.0, 0.5, 1.0),
    "skip_weight": (0.0, 0.5),
    "clickbait_weight": (0.0, 0.5, 1.0, 2.0),
}


def _stamp(command: list[str]) -> dict:
    from benchmarks.provenance import provenance

    return provenance(["python", "benchmarks/v1_dynamics.py", *command])


def _write(path: Path, data: dict) -> None:
    from advrec_gym._io import atomic_write_json

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, data)


def _venv(num_envs: int):
    return gym.make_vec(advrec_gym.DEFAULT_ENV_ID, num_envs=num_envs, vectorization_mode="vector_entry_point")


def _row(name: str, report, **settings) -> dict:
    return {"policy": name, "settings": settings, **report.summary(), "returns": report.returns.round(3).tolist()}


def _nn(venv, probe, **w):
    from agents.heuristics import NearestNeighbour

    return NearestNeighbour(venv.unwrapped.catalogue, clickbait=probe, **w)


def tune(args, log) -> dict:
    """Grid searches on training users: mean return over TUNE_SEEDS."""
    from advrec_gym import TransformerEncoder
    from agents.heuristics import clickbait_direction
    from agents.oracles import PlanningOracle

    venv = _venv(100)
    episodes = max(args.episodes // 5, 50)

    def score(policy) -> float:
        return float(np.mean([evaluate(venv, policy, episodes=episodes, seed=s).mean_return for s in TUNE_SEEDS]))

    planner = {lam: score(PlanningOracle(venv, lam)) for lam in PLANNER_GRID}
    log(f"planner grid (budget value -> return): {planner}")
    probe = clickbait_direction(TransformerEncoder())
    grid = [dict(zip(NN_GRID, values, strict=True)) for values in itertools.product(*NN_GRID.values())]
    if args.quick:
        grid = grid[:: max(len(grid) // 6, 1)]
    nn = []
    for w in grid:
        nn.append({**w, "return": score(_nn(venv, probe, **w))})
    return_of = lambda r: r["return"]  # noqa: E731
    best_plain = max(
        (r for r in nn if r["regret_weight"] == r["skip_weight"] == r["clickbait_weight"] == 0), key=return_of
    )
    # the filtering variant: the best setting that uses the zero-shot clickbait probe
    best_filter = max((r for r in nn if r["clickbait_weight"] > 0), key=return_of)
    log(f"best nearest-neighbour: {best_plain}; best with filters: {best_filter}")
    return {
        "episodes_per_seed": episodes,
        "seeds": list(TUNE_SEEDS),
        "planner": {"grid": {str(k): v for k, v in planner.items()}, "budget_value": max(planner, key=planner.get)},
        "nearest_neighbour": {"grid": nn, "best": best_plain, "best_with_filters": best_filter},
    }


def references(args, tuned: dict, log) -> dict:
    from advrec_gym import TransformerEncoder
    from agents.baselines import PopularityPolicy, RandomPolicy
    from agents.heuristics import clickbait_direction
    from agents.oracles import MyopicOracle, PlanningOracle

    venv = _venv(100)
    cat = venv.unwrapped.catalogue
    probe = clickbait_direction(TransformerEncoder())
    weights = lambda r: {k: r[k] for k in NN_GRID}  # noqa: E731
    rows = []
    for name, policy, settings in (
        ("random", RandomPolicy(cat.num_items, seed=0), {}),
        ("popularity", PopularityPolicy(cat, seed=0), {}),
        (
            "nearest-neighbour",
            _nn(venv, probe, **weights(tuned["nearest_neighbour"]["best"])),
            weights(tuned["nearest_neighbour"]["best"]),
        ),
        (
            "nn-filter",
            _nn(venv, probe, **weights(tuned["nearest_neighbour"]["best_with_filters"])),
            weights(tuned["nearest_neighbour"]["best_with_filters"]),
        ),
        ("myopic oracle", MyopicOracle(venv), {}),
        (
            "planning oracle",
            PlanningOracle(venv, tuned["planner"]["budget_value"]),
            {"budget_value": tuned["planner"]["budget_value"]},
        ),
    ):
        rows.append(_row(name, evaluate(venv, policy, episodes=args.episodes, seed=EVAL_SEED), **settings))
        log(f"{name}: {rows[-1]['return_mean']:.2f}")
    grid = []
    for lam in PLANNER_GRID:
        grid.append(
            _row(
                "planner grid",
                evaluate(venv, PlanningOracle(venv, lam), episodes=args.episodes // 2, seed=EVAL_SEED),
                budget_value=lam,
            )
        )
    for r in tuned["nearest_neighbour"]["grid"][:: 4 if not args.quick else 1]:
        report = evaluate(venv, _nn(venv, probe, **weights(r)), episodes=args.episodes // 2, seed=EVAL_SEED)
        grid.append(_row("heuristic grid", report, **weights(r)))
    return {"episodes": args.episodes, "eval_seed": EVAL_SEED, "rows": rows, "grid": grid}


def ppo(args, seed: int, log) -> dict:
    from agents.training import TrainConfig, Trainer

    run = Path(args.out) / "runs" / f"ppo-seed-{seed}"
    config = TrainConfig(
        defence="none",
        rounds=1,
        recommender_steps=args.ppo_steps,
        eval_attacks=[],
        phase_eval_episodes=0,
        curve_every=args.curve_every,
        seed=seed,
        output_dir=str(run),
        progress_bar=args.progress,
        tensorboard=False,
    )
    started = time.perf_counter()
    if (run / "config.json").exists():  # resume it, or continue it with more phases up to --ppo-steps
        per_phase = int(json.loads((run / "config.json").read_text())["recommender_steps"])
        if args.ppo_steps % per_phase:
            raise SystemExit(
                f"{run} trains {per_phase:,} steps per phase; --ppo-steps must be a multiple of it to continue "
                f"the run, got {args.ppo_steps:,} (or move the run away to start over)."
            )
        trainer = Trainer.resume(str(run), stream=sys.stderr, rounds=args.ppo_steps // per_phase)
    else:
        trainer = Trainer(config, stream=sys.stderr)
    trainer.train(evaluate=False)
    report = evaluate(_venv(100), trainer.recommender, episodes=args.episodes, seed=EVAL_SEED)
    log(f"ppo seed {seed}: {report.mean_return:.2f} after {trainer.recommender.num_timesteps} steps")
    return {
        **_row("ppo (item-embedding)", report, seed=seed, steps=int(trainer.recommender.num_timesteps)),
        "curve": trainer.curve,
        "config": trainer.config.to_dict(),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def attacks(args, seed: int, model_steps: int, log) -> dict:
    """The seed's trained recommender (``model_steps``: its PPO stage's steps) under the white-box
    suite at every budget of ``--attack-eps``."""
    from advrec_gym.attacks.text.shift import block_norms
    from agents.training.load import load_players
    from agents.training.report import evaluate_recommender

    run = Path(args.out) / "runs" / f"ppo-seed-{seed}"
    started = time.perf_counter()
    by_eps = []
    for eps in args.attack_eps:
        loaded = load_players(str(run), eps=eps, norm="inf")
        rows = evaluate_recommender(
            loaded.recommender, loaded.config, list(args.attacks), episodes=args.attack_episodes, seed=EVAL_SEED
        )
        by_eps.append({"eps": eps, "rows": rows})
        worst = min((r for r in rows if r["attack"] != "clean"), key=lambda r: r["return_mean"])
        log(f"ppo seed {seed} eps {eps:g}: clean {rows[0]['return_mean']:.2f}, worst {worst['attack']} "
            f"{worst['return_mean']:.2f}")  # fmt: skip
    venv = _venv(100)
    obs = _observations(venv, loaded.recommender, steps=30, seed=EVAL_SEED)
    dim = venv.unwrapped.catalogue.dim
    norms = block_norms(obs, dim)
    return {
        "seed": seed,
        "model_steps": int(model_steps),  # (a loaded model's num_timesteps is not restored: 0)
        "episodes": args.attack_episodes,
        "eval_seed": EVAL_SEED,
        "attacks": list(args.attacks),
        "by_eps": by_eps,
        "block_norms": [float(x) for x in norms],
        "block_dim": int(dim),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def _observations(venv, model, steps: int, seed: int) -> np.ndarray:
    """The clean observations of ``model``'s rollouts on ``venv`` (``steps`` vector steps from ``seed``)."""
    obs, _ = venv.reset(seed=seed)
    seen = []
    for _ in range(steps):
        seen.append(np.array(obs))
        action, _ = model.predict(obs, deterministic=False)
        obs, *_ = venv.step(action)
    return np.concatenate(seen)


def attack_report(attack_runs: list[dict]) -> list[str]:
    """The attack table: per budget, the median over seeds of each attack's return and of the share kept."""
    if not attack_runs:
        return []
    first = attack_runs[0]
    dim = first["block_dim"]
    norm = float(np.nanmedian([np.nanmean([x for x in a["block_norms"][:3] if x > 0]) for a in attack_runs]))
    names = ["clean"] + first["attacks"]
    lines = [
        "",
        f"PPO (item-embedding) under the white-box suite ({_model_steps(attack_runs)}), "
        f"{first['episodes']} episodes on the evaluation users, "
        f"medians over {len(attack_runs)} seeds (return; share of clean kept). The budget as a share of a "
        f"history block's L2 norm ({norm:.3f}, mean of the liked / regretted / skipped blocks): "
        f"eps * sqrt({dim}) / norm.",
        "",
        "| L-inf eps | of block norm | " + " | ".join(names) + " | worst |",
        "|---:|---:|" + "---:|" * (len(names) + 1),
    ]
    for k, eps in enumerate(r["eps"] for r in first["by_eps"]):
        cells = []
        for name in names:
            vals = [next(r for r in a["by_eps"][k]["rows"] if r["attack"] == name and r["actions"] == "sampled")
                    for a in attack_runs]  # fmt: skip
            ret = float(np.median([v["return_mean"] for v in vals]))
            kept = float(np.median([v["return_kept"] for v in vals]))
            cells.append((name, ret, kept))
        worst = min(cells[1:], key=lambda c: c[1])
        lines.append(
            f"| {eps:g} | {eps * np.sqrt(dim) / norm:.2f} | "
            + " | ".join(f"{ret:.2f}" + ("" if name == "clean" else f" ({kept:.2f})") for name, ret, kept in cells)
            + f" | {worst[0]} ({worst[2]:.2f}) |"
        )
    return lines


def _model_steps(attack_runs: list[dict]) -> str:
    steps = sorted({a.get("model_steps", -1) for a in attack_runs})  # -1: a stage file older than the field
    return "models after " + ", ".join("unrecorded" if s < 0 else f"{s:,}" for s in steps) + " steps"


def report(args, tuned, refs, ppo_runs, attack_runs=()) -> str:
    rows = list(refs["rows"])
    for run in ppo_runs:  # every seed's own row: its CTR, length and filtering metrics belong to its return
        rows.append({**run, "policy": f"ppo (item-embedding), seed {run['settings']['seed']}"})
    lines = [
        f"AdvRec-v1 defaults, {refs['episodes']} evaluation episodes per policy (evaluation seed {EVAL_SEED}; tuning on "
        f"training users, seeds {list(TUNE_SEEDS)}).",
        "",
        "| policy | return | CTR | length | truncated | low-quality shown | low-quality clicks |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['policy']} | {r['return_mean']:.2f} | {r['ctr']:.3f} | {r['length_mean']:.1f} | {r['truncation_rate']:.2f} "
            f"| {r['low_quality_shown']:.2f} | {r['low_quality_clicked']:.2f} |"
        )
    by = {r["policy"]: r["return_mean"] for r in rows}
    gap = by["planning oracle"] / by["myopic oracle"] - 1.0
    lines += ["", f"Planning oracle over myopic oracle: {100 * gap:+.0f}%."]
    if ppo_runs:
        best_heuristic = max(by["nearest-neighbour"], by["nn-filter"])
        returns = [r["return_mean"] for r in ppo_runs]
        steps = sorted({r["settings"]["steps"] for r in ppo_runs})
        lines.append(
            f"PPO ({', '.join(f'{s:,}' for s in steps)} steps): median {np.median(returns):.2f} over {len(returns)} seeds "
            f"(min {min(returns):.2f}); best training-free heuristic: {best_heuristic:.2f}."
        )
        lines += _paired_lines(refs, ppo_runs)
    lines += attack_report(list(attack_runs))
    return "\n".join(lines) + "\n"


def _paired_lines(refs, ppo_runs) -> list[str]:
    """Each PPO seed against the best heuristic on the same users: mean paired difference, 95% CI, p-value."""
    from benchmarks.leaderboard.stats import bootstrap_ci, paired_permutation_test

    by = {r["policy"]: r for r in refs["rows"]}
    best = max(("nearest-neighbour", "nn-filter"), key=lambda p: by[p]["return_mean"])
    base = np.asarray(by[best]["returns"], dtype=np.float64)
    lines = ["", f"PPO against {best}, paired over the same {base.size} evaluation episodes (users):", ""]
    lines += [
        "| seed | PPO | " + best + " | mean difference [95% bootstrap CI] | paired sign-flip p |",
        "|---|---:|---:|---|---:|",
    ]
    for run in ppo_runs:
        ret = np.asarray(run["returns"], dtype=np.float64)
        if ret.size != base.size:
            raise ValueError(f"PPO seed {run['settings']['seed']} has {ret.size} episodes, {best} {base.size}: rerun.")
        d = ret - base
        low, high = bootstrap_ci(d, np.random.default_rng(0), statistic=np.mean)
        p = paired_permutation_test(ret, base)
        lines.append(
            f"| {run['settings']['seed']} | {ret.mean():.2f} | {base.mean():.2f} | {d.mean():+.2f} [{low:+.2f}, {high:+.2f}] "
            f"| {p:.4f} |"
        )
    return lines


def scatter(path: Path, refs, ppo_runs) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    grid = refs["grid"]
    for name, marker, colour in (("heuristic grid", "o", "#999999"), ("planner grid", "^", "#cc79a7")):
        pts = [(g["ctr"], g["return_mean"]) for g in grid if g["policy"] == name]
        ax.scatter(*zip(*pts, strict=True), marker=marker, s=14, c=colour, alpha=0.6, label=name)
    for r, marker, colour in zip(
        refs["rows"], "sDvP*X", ("#000000", "#e69f00", "#56b4e9", "#009e73", "#d55e00", "#0072b2"), strict=True
    ):
        ax.scatter(r["ctr"], r["return_mean"], marker=marker, s=70, c=colour, label=r["policy"], edgecolors="white")
    for k, run in enumerate(ppo_runs):
        pts = [(p["ctr"], p["return_mean"]) for p in run["curve"]]
        if pts:
            ax.plot(
                *zip(*pts, strict=True),
                "-",
                lw=0.8,
                c="#f0e442",
                marker=".",
                label="ppo learning curves" if k == 0 else None,
            )
    ax.set_xlabel("click-through rate (clicks per recommendation)")
    ax.set_ylabel("return (clicks per episode)")
    ax.set_title("AdvRec-v1: return is not a function of CTR")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=130)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "results" / "v1_dynamics"))
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--ppo-seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--ppo-steps", type=int, default=1_000_000)
    parser.add_argument("--curve-every", type=int, default=50_000)
    parser.add_argument(
        "--attacks",
        nargs="*",
        default=list(ATTACKS),
        choices=[a for a in EVAL_ATTACKS if a != "learned"],
        help="attacks of the attack stage (none: skip it)",
    )
    parser.add_argument("--attack-eps", type=float, nargs="*", default=list(ATTACK_EPS), help="L-inf budgets")
    parser.add_argument("--attack-episodes", type=int, default=100, help="evaluation episodes per attack and budget")
    parser.add_argument(
        "--attack-seeds", type=int, nargs="*", default=None, help="PPO seeds of the attack stage (default: --ppo-seeds)"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not for the record")
    parser.add_argument("--force", action="store_true", help="recompute every stage")
    parser.add_argument(
        "--recompute",
        nargs="*",
        default=[],
        help="stages to recompute (tuned: re-pick from the stored grid; references)",
    )
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="show progress bars")
    args = parser.parse_args(argv)
    if any(e <= 0 for e in args.attack_eps) or args.attack_episodes < 1:
        parser.error(
            f"--attack-eps must be > 0 and --attack-episodes >= 1, got {args.attack_eps}, {args.attack_episodes}"
        )
    if args.quick:
        args.episodes, args.ppo_steps, args.curve_every, args.ppo_seeds = 60, 20_000, 10_000, args.ppo_seeds[:1]
        args.attacks, args.attack_eps, args.attack_episodes = ["fgsm", "pgd-topk"], [0.01], 16
        args.out = str(Path(args.out).with_name("v1_dynamics_quick"))
    out = Path(args.out)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    stamp = _stamp(sys.argv[1:] if argv is None else list(argv))

    def stage(name: str, compute, stale=lambda data: False):
        path = out / f"{name}.json"
        if path.exists() and not args.force and name not in args.recompute:
            data = json.loads(path.read_text())
            if not stale(data):
                return data
        data = {**compute(), "stamp": stamp}
        _write(path, data)
        return data

    if "tuned" in args.recompute and (out / "tuned.json").exists():  # re-pick the heuristics from the stored grid
        tuned = json.loads((out / "tuned.json").read_text())
        grid = tuned["nearest_neighbour"]["grid"]
        return_of = lambda r: r["return"]  # noqa: E731
        plain = [r for r in grid if r["regret_weight"] == r["skip_weight"] == r["clickbait_weight"] == 0]
        tuned["nearest_neighbour"]["best"] = max(plain, key=return_of)
        tuned["nearest_neighbour"]["best_with_filters"] = max(
            (r for r in grid if r["clickbait_weight"] > 0), key=return_of
        )
        _write(out / "tuned.json", tuned)
    tuned = stage("tuned", lambda: tune(args, log))
    refs = stage("references", lambda: references(args, tuned, log))
    short = lambda run: run["settings"]["steps"] < args.ppo_steps  # noqa: E731  (a larger --ppo-steps continues it)
    ppo_runs = [stage(f"ppo-seed-{s}", lambda s=s: ppo(args, s, log), stale=short) for s in args.ppo_seeds]
    attack_seeds = args.ppo_seeds if args.attack_seeds is None else args.attack_seeds
    missing = sorted(set(attack_seeds) - set(args.ppo_seeds))
    if missing:
        parser.error(f"--attack-seeds {missing} are not among --ppo-seeds {args.ppo_seeds}")
    steps_of = {run["settings"]["seed"]: run["settings"]["steps"] for run in ppo_runs}
    attack_runs = [
        stage(f"attacks-seed-{s}", lambda s=s: attacks(args, s, steps_of[s], log)) for s in attack_seeds if args.attacks
    ]
    text = report(args, tuned, refs, ppo_runs, attack_runs)
    (out / "report.md").write_text(text + f"\n`{stamp['command']}` at {stamp['commit']}\n")
    scatter(out / "return_vs_ctr.png", refs, ppo_runs)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
