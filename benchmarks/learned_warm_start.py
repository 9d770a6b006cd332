"""How strong can the learned adversary's white-box warm start get? The amortisation gap, measured.

    python benchmarks/learned_warm_start.py --run RUN_DIR               # the committed result
    python benchmarks/learned_warm_start.py --run RUN_DIR --quick       # a smoke run, not for the record

The ``learned`` best response (:mod:`agents.training.best_response`) is a network that maps the clean
observation to a perturbation: before PPO fine-tunes it, :func:`agents.training.adversary_fit.fit_adversary`
trains it by backprop through the frozen recommender on the suite's ``semantic`` objective (an
amortised attack). On the board it came out weaker than FGSM on PPO. This script asks why: it fits the
warm start with larger networks, more states and more epochs (``--variants``), and scores each against
the per-observation attacks it amortises (FGSM, and PGD on the same objective), all on the same
training-side users as the best response's plateau checks (common random numbers, sampled actions).
Each fitted adversary is scored twice: as it is deployed (``clip`` of its mean action, as
``AttackerEnv`` and :class:`~advrec_gym.attacks.LearnedAdversary` map it) and as it was fitted
(``tanh`` of its mean).

Writes one JSON (``--out``, stamped with command and commit) and prints a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch

from benchmarks.runs import check_run, run_parser

ROOT = Path(__file__).resolve().parent
#: (hidden layers, epochs, states): the trainer's default warm start first
DEFAULT_VARIANTS = ("64-64x5x8192", "64-64x30x32768", "256-256x30x32768")
REFERENCES = ("fgsm", "pgd-semantic")


def parse_variant(text: str) -> dict:
    """``"64-64x5x8192"`` -> hidden layers [64, 64], 5 epochs, 8192 states."""
    try:
        net, epochs, states = text.split("x")
        row = {"net": [int(n) for n in net.split("-")], "epochs": int(epochs), "states": int(states)}
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a variant is HIDDEN-HIDDENxEPOCHSxSTATES (e.g. 64-64x5x8192), got {text!r}"
        ) from None
    if min(row["net"] + [row["epochs"], row["states"]]) < 1:
        raise argparse.ArgumentTypeError(f"a variant's sizes must be >= 1, got {text!r}")
    return row


class TanhDeploy:
    """An SB3 adversary whose ``predict`` is ``tanh`` of its mean action: the map its warm start was fitted with."""

    def __init__(self, model):
        self.model, self.observation_space, self.action_space = model, model.observation_space, model.action_space

    def predict(self, obs, deterministic=True):
        with torch.no_grad():
            dist = self.model.policy.get_distribution(torch.as_tensor(obs, dtype=torch.float32))
        return torch.tanh(dist.distribution.mean).numpy(), None


def measure(args, log) -> dict:
    from advrec_gym.attacks import Budget, LearnedAdversary, evaluate_attack
    from agents.training.best_response import CHECK_SEED_OFFSET, PlateauRule, fit_best_response
    from agents.training.load import load_players
    from agents.training.players import recommender_view
    from benchmarks.leaderboard import entries

    loaded = load_players(args.run, device="cpu")
    victim, config = loaded.recommender, loaded.config
    budget = Budget(args.eps, "inf")
    users = recommender_view(config)

    def score(attacker) -> float:
        report = evaluate_attack(users, victim, attacker, episodes=args.episodes, seed=args.seed + CHECK_SEED_OFFSET)
        return round(float(report.mean_return), 3)

    refs = {"none": score(None)}
    for name in REFERENCES:
        start = time.perf_counter()
        refs[name] = score(entries.make_attack(name, victim, budget, args.seed))
        log(f"{name:>14}: {refs[name]:7.2f} ({time.perf_counter() - start:.0f} s)")
    rows = []
    for v in args.variants:
        settings = dataclasses.replace(
            config, attacker_net_arch=v["net"], attacker_fit_epochs=v["epochs"], attacker_fit_states=v["states"]
        )
        start = time.perf_counter()
        response = fit_best_response(
            victim,
            lambda: recommender_view(config),
            budget,
            settings,
            seed=args.seed,
            kind="learned",
            rule=PlateauRule(max_steps=0, eval_episodes=1),  # the warm start alone: no PPO
            device="cpu",
        )
        fit_s = time.perf_counter() - start
        fitted = LearnedAdversary(TanhDeploy(response.adversary), budget, embedding_slice=response.embedding_slice)
        row = {
            **v,
            "loss": round(response.warm_start["loss"], 4),
            "fit_s": round(fit_s, 1),
            "clip_deploy": score(response.attacker(victim, seed=args.seed)),
            "tanh_deploy": score(fitted),
        }
        rows.append(row)
        log(
            f"{v}: loss {row['loss']:.3f}, clip {row['clip_deploy']:.2f}, tanh {row['tanh_deploy']:.2f} ({fit_s:.0f} s)"
        )
    return {"references": refs, "rows": rows}


def table(doc: dict) -> str:
    refs = doc["references"]
    lines = [
        f"victim return on {doc['episodes']} training-side episodes, L-inf {doc['eps']}: clean {refs['none']:.2f}, "
        + ", ".join(f"{name} {refs[name]:.2f}" for name in REFERENCES),
        f"{'hidden':>10} {'epochs':>6} {'states':>7} {'loss':>7} {'fit s':>6} {'deployed':>9} {'as fitted':>9}",
    ]
    for r in doc["rows"]:
        net = "-".join(map(str, r["net"]))
        lines.append(
            f"{net:>10} {r['epochs']:6d} {r['states']:7d} {r['loss']:7.3f} {r['fit_s']:6.0f} "
            f"{r['clip_deploy']:9.2f} {r['tanh_deploy']:9.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = run_parser(__doc__, ROOT / "results" / "v1_learned_warm_start.json", episodes=128)
    parser.add_argument("--seed", type=int, default=0, help="the best response's seed (its check users)")
    parser.add_argument("--variants", nargs="+", type=parse_variant, default=None, help="HIDDEN-HIDDENxEPOCHSxSTATES")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not for the record")
    args = parser.parse_args(argv)
    check_run(parser, args.run)
    if args.eps <= 0 or args.episodes < 1:
        parser.error(f"--eps must be > 0 and --episodes >= 1, got {args.eps} and {args.episodes}")
    if args.variants is None:
        args.variants = [parse_variant(v) for v in (("8-8x1x64",) if args.quick else DEFAULT_VARIANTS)]
    if args.quick:  # never over the committed result
        args.episodes = min(args.episodes, 4)
        args.out = str(Path(args.out).with_name(Path(args.out).stem + "_quick.json"))
    from advrec_gym._io import atomic_write_json
    from benchmarks.provenance import provenance

    torch.set_num_threads(1)
    doc = {
        "run": args.run,
        "eps": args.eps,
        "episodes": args.episodes,
        "seed": args.seed,
        **measure(args, lambda msg: print(msg, file=sys.stderr, flush=True)),
        "provenance": provenance(
            ["python", "benchmarks/learned_warm_start.py", *(sys.argv[1:] if argv is None else argv)]
        ),
    }
    atomic_write_json(Path(args.out), doc)
    print(table(doc))
    return doc


if __name__ == "__main__":
    main()
