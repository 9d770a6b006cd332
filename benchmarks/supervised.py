"""The supervised route before and after fine-tuning: clean and robust AUC, speed, re-training.

Rows: the pretrained encoder (frozen; only the user tower and bias learn) and the fine-tuned click
model with adversarial examples mixed in at rho = 0, 0.2 and 1.0, for two freezing strategies (all
but the top 2 layers frozen, and full fine-tuning). Columns: clean test AUC and accuracy, robust AUC
under FGSM and PGD on the user side (the observation, the env's threat model) at an eps grid and on
the item side (token embeddings), training examples/s, and the return of each model as an AdvRec-v0
recommender. Then the adaptive re-training comparison in a drifting env. Prints the tables and
writes ``benchmarks/results/supervised.json``.

    python benchmarks/supervised.py             # the small setting of docs/supervised.md
    python benchmarks/supervised.py --quick     # a smoke version in a few minutes
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

SPEED_RUNS = (
    ("top-only", "rho 0", "fgsm", 0.0),
    ("top-only", "rho 0.2, FGSM", "fgsm", 0.2),
    ("top-only", "rho 0.2, PGD-3", "pgd", 0.2),
    ("none", "rho 0", "fgsm", 0.0),
    ("none", "rho 0.2, FGSM", "fgsm", 0.2),
)
SECTIONS = ("variants", "speed", "misaligned", "retraining")
RESULTS = Path(__file__).resolve().parent / "results" / "supervised.json"
VARIANTS = (
    ("pretrained (frozen encoder)", "encoder", 0.0),
    ("fine-tuned top-2, rho 0", "top-only", 0.0),
    ("fine-tuned top-2, rho 0.2", "top-only", 0.2),
    ("fine-tuned top-2, rho 1.0", "top-only", 1.0),
    ("fine-tuned full, rho 0", "none", 0.0),
    ("fine-tuned full, rho 0.2", "none", 0.2),
    ("fine-tuned full, rho 1.0", "none", 1.0),
    ("fine-tuned top-2, rho 1.0, user side only", "top-only", 1.0),
)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--num-items", type=int, default=60)
    p.add_argument("--num-topics", type=int, default=6)
    p.add_argument("--log-steps", type=int, default=3000, help="logged interactions (random logging policy)")
    p.add_argument("--max-length", type=int, default=24)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--obs-eps", type=float, default=0.002, help="user-side training budget (L-inf)")
    p.add_argument("--token-eps", type=float, default=0.5, help="item-side training budget")
    p.add_argument("--eval-obs-eps", type=float, nargs="+", default=[0.001, 0.002, 0.005])
    p.add_argument("--eval-token-eps", type=float, nargs="*", default=[1.0])
    p.add_argument("--eval-steps", type=int, default=5, help="PGD iterations of the evaluation")
    p.add_argument("--episodes", type=int, default=100, help="env episodes per recommender")
    p.add_argument("--retrain-phases", type=int, default=3)
    p.add_argument("--retrain-steps", type=int, default=1000, help="logged steps per drift phase")
    p.add_argument("--retrain-every", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--quick", action="store_true", help="a small smoke version (overrides the sizes)")
    p.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="parts to run; the others are kept from an existing --out file",
    )
    p.add_argument("--out", default=str(RESULTS))
    args = p.parse_args(argv)
    if args.quick:
        args.num_items, args.num_topics, args.log_steps, args.max_length = 30, 3, 1500, 16
        args.epochs, args.episodes, args.eval_steps = 2, 32, 3
        args.retrain_phases, args.retrain_steps, args.retrain_every = 2, 480, 240
    return args


def _meta(args) -> dict:
    import torch

    from benchmarks.provenance import provenance

    return {
        "provenance": provenance(["python", "benchmarks/supervised.py", *sys.argv[1:]]),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, {args.threads} thread(s)",
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
    }


def run(args) -> dict:
    import torch

    from advrec_gym import Catalogue, TransformerEncoder
    from advrec_gym._io import atomic_write_json, read_json_file
    from advrec_gym.evaluation import evaluate
    from agents.baselines import PopularityPolicy, RandomPolicy
    from agents.supervised.adversarial import AdversarialConfig
    from agents.supervised.data import collect_env_logs, make_log_env, split_by_user
    from agents.supervised.evaluate import evaluate_model
    from agents.supervised.model import TwoTowerClickModel
    from agents.supervised.policy import ClickModelPolicy
    from agents.supervised.retrain import compare_retraining
    from agents.supervised.train import OptimizationConfig, train

    torch.set_num_threads(args.threads)
    out = {"variants": [], "speed": [], "baselines": {}, "misaligned": {}, "retraining": {}}
    if set(args.sections) != set(SECTIONS) and Path(args.out).is_file():
        out.update(read_json_file(args.out, what="earlier results"))
        old = out.pop("meta", None)  # files of a single full run carry one "meta"
        if old:
            out.setdefault("meta_by_section", dict.fromkeys(SECTIONS, old))
    out.setdefault("meta_by_section", {}).update({section: _meta(args) for section in args.sections})
    catalogue = Catalogue.synthetic(args.num_items, args.num_topics, 0)
    data = collect_env_logs(make_log_env(catalogue, 16), steps=args.log_steps, policy="random", seed=args.seed)
    splits = split_by_user(data, (0.6, 0.2, 0.2), seed=args.seed)
    out["data"] = {name: repr(getattr(splits, name)) for name in ("train", "validation", "test")}
    print(f"{catalogue}; {data}\n  train {splits.train}\n  val   {splits.validation}\n  test  {splits.test}")
    encoder = TransformerEncoder(max_length=args.max_length)
    venv = make_log_env(catalogue, 16)
    eval_seed = args.seed + 10_000
    for name, policy in (
        ("random", RandomPolicy(catalogue.num_items, seed=0)),
        ("popularity", PopularityPolicy(catalogue, seed=0)),
    ):
        out["baselines"][name] = evaluate(venv, policy, args.episodes, seed=eval_seed).summary()

    def make(freeze):
        return TwoTowerClickModel.for_catalogue(
            catalogue, encoder=encoder, max_length=args.max_length, freeze=freeze, freeze_layers=2, seed=args.seed
        )

    config = OptimizationConfig(
        epochs=args.epochs, batch_size=args.batch_size, patience=2, seed=args.seed, progress=False
    )
    models = {}
    if "variants" in args.sections:
        out["variants"] = []
    for name, freeze, rho in VARIANTS if "variants" in args.sections else ():
        start = time.perf_counter()
        model = make(freeze)
        token_eps = 0.0 if "user side only" in name else args.token_eps
        adversarial = AdversarialConfig(rho=rho, attack="fgsm", obs_eps=args.obs_eps, token_eps=token_eps)
        result = train(model, splits.train, splits.validation, config, adversarial)
        rows = evaluate_model(
            model, splits.test, obs_eps=args.eval_obs_eps, token_eps=args.eval_token_eps, steps=args.eval_steps
        )
        env = evaluate(venv, ClickModelPolicy(model, seed=0), args.episodes, seed=eval_seed).summary()
        entry = {
            "name": name,
            "freeze": freeze,
            "rho": rho,
            "trainable_transformer_params": model.freeze_report.trainable,
            "best_epoch": result.best_epoch,
            "val_auc": result.best_val_auc,
            "examples_per_second": result.examples_per_second,
            "history": result.history,
            "test": rows,
            "env": env,
            "seconds": time.perf_counter() - start,
        }
        out["variants"].append(entry)
        models[name] = model
        _print_variant(entry)
        atomic_write_json(args.out, out, default=float)
    if "speed" in args.sections:
        # one epoch each, back to back, so that the machine's load is alike across the rows
        out["speed"] = []
        for freeze, label, attack, rho in SPEED_RUNS:
            one = OptimizationConfig(epochs=1, batch_size=args.batch_size, seed=args.seed, progress=False)
            adversarial = AdversarialConfig(
                rho=rho, attack=attack, steps=3, obs_eps=args.obs_eps, token_eps=args.token_eps
            )
            res = train(make(freeze), splits.train, splits.validation, one, adversarial)
            out["speed"].append({"freeze": freeze, "setting": label, "examples_per_second": res.examples_per_second})
            print(f"speed: {freeze}, {label}: {res.examples_per_second:.0f} examples/s", flush=True)
        atomic_write_json(args.out, out, default=float)
    if "misaligned" in args.sections:
        out["misaligned"] = misaligned_tastes(args.seed)
        atomic_write_json(args.out, out, default=float)
    if "retraining" in args.sections:
        start = time.perf_counter()
        base = models.get("fine-tuned top-2, rho 0")
        if base is None:
            base = make("top-only")
            train(base, splits.train, splits.validation, config, AdversarialConfig(rho=0.0))
        runs = compare_retraining(
            base,
            catalogue,
            retrain_every=args.retrain_every,
            phases=args.retrain_phases,
            steps_per_phase=args.retrain_steps,
            window=2 * args.retrain_every,
            block_steps=args.retrain_steps // 2,
            train_config=OptimizationConfig(epochs=2, batch_size=args.batch_size, seed=args.seed, progress=False),
            seed=args.seed,
        )
        out["retraining"] = {k: r.to_dict() for k, r in runs.items()}
        out["retraining_seconds"] = time.perf_counter() - start
        atomic_write_json(args.out, out, default=float)
    return out


def misaligned_tastes(seed: int) -> dict:
    """Frozen vs fine-tuned where the users' tastes ignore what the item texts say (the test's setting).

    30 synthetic item texts; the env's item embeddings (which drive clicks and the observation) are
    16-d vectors near 3 random centres assigned by a seeded permutation unrelated to the texts.
    """
    import numpy as np

    from advrec_gym import Catalogue, TransformerEncoder
    from agents.supervised.data import collect_env_logs, make_log_env, split_by_user
    from agents.supervised.evaluate import clean_metrics
    from agents.supervised.model import TwoTowerClickModel
    from agents.supervised.train import OptimizationConfig, train

    texts = Catalogue.synthetic(30, 3, 0).texts
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, 16))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    taste = rng.permutation(np.arange(30) % 3)
    emb = centres[taste] + 0.3 * rng.standard_normal((30, 16)) / 4.0
    catalogue = Catalogue.from_embeddings(emb, topics=[f"taste {t}" for t in taste], texts=texts)
    splits = split_by_user(collect_env_logs(make_log_env(catalogue, 16), steps=1500, seed=seed), (0.6, 0.2, 0.2))
    encoder = TransformerEncoder(max_length=16)
    config = OptimizationConfig(
        epochs=4, patience=4, batch_size=128, lr=3e-3, encoder_lr=1e-3, seed=seed, progress=False
    )
    rows = {}
    for name, freeze in (("pretrained (frozen encoder)", "encoder"), ("fine-tuned top-1", "top-only")):
        model = TwoTowerClickModel.for_catalogue(
            catalogue, encoder=encoder, max_length=16, dropout=0.0, freeze=freeze, freeze_layers=1, seed=seed
        )
        result = train(model, splits.train, splits.validation, config)
        rows[name] = {"val_auc": result.best_val_auc, "test_auc": clean_metrics(model, splits.test)["auc"]}
        print(
            f"misaligned tastes, {name:<28} val AUC {rows[name]['val_auc']:.3f} test AUC {rows[name]['test_auc']:.3f}"
        )
    return rows


def _print_variant(v: dict) -> None:
    robust = "  ".join(f"{r['attack']}/{r['side']}@{r['eps']:g}={r['auc']:.3f}" for r in v["test"][1:])
    print(
        f"{v['name']:<30} val AUC {v['val_auc']:.3f} test AUC {v['test'][0]['auc']:.3f} "
        f"acc {v['test'][0]['accuracy']:.3f} | {robust} | {v['examples_per_second']:.0f} ex/s | "
        f"env return {v['env']['return_mean']:.2f} ({v['seconds']:.0f} s)",
        flush=True,
    )


def tables(out: dict) -> str:
    """The Markdown tables of docs/supervised.md from a results dict."""
    lines = []
    first = out["variants"][0]["test"]
    heads = [f"{r['attack'].upper()} {r['side']} {r['eps']:g}" for r in first[1:]]
    lines.append("| model | val AUC | test AUC | test acc | " + " | ".join(heads) + " | examples/s | env return |")
    lines.append("|---" * (6 + len(heads)) + "|")
    for v in out["variants"]:
        cells = [f"{r['auc']:.3f}" for r in v["test"][1:]]
        lines.append(
            f"| {v['name']} | {v['val_auc']:.3f} | {v['test'][0]['auc']:.3f} | {v['test'][0]['accuracy']:.3f} | "
            + " | ".join(cells)
            + f" | {v['examples_per_second']:.0f} | {v['env']['return_mean']:.2f} |"
        )
    base = out["baselines"]
    lines.append("")
    lines.append(
        f"Baselines on the same env and episodes: random {base['random']['return_mean']:.2f}, "
        f"popularity {base['popularity']['return_mean']:.2f}."
    )
    lines.append("")
    lines.append("| training (freeze) | examples/s |")
    lines.append("|---|---|")
    for s in out["speed"]:
        lines.append(f"| {s['setting']} ({s['freeze']}) | {s['examples_per_second']:.0f} |")
    if out.get("misaligned"):
        lines.append("")
        lines.append("| misaligned tastes (30 items, max_length 16) | val AUC | test AUC |")
        lines.append("|---|---|---|")
        for name, r in out["misaligned"].items():
            lines.append(f"| {name} | {r['val_auc']:.3f} | {r['test_auc']:.3f} |")
    if out.get("retraining"):
        lines.append("")
        lines.append("| online run | mean return per phase | CTR per phase | re-training time |")
        lines.append("|---|---|---|---|")
        for name, r in out["retraining"].items():
            ret = ", ".join(f"{x:.2f}" for x in r["phase_return"])
            ctr = ", ".join(f"{x:.3f}" for x in r["phase_ctr"])
            lines.append(f"| {name} | {ret} | {ctr} | {r['retrain_seconds']:.0f} s |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = run(args)
    print("\n" + tables(out))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
