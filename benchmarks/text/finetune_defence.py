"""Defence (a) of the text track: the supervised click model's item encoder fine-tuned against edited texts.

Setting (small, for 2 CPU cores): a 100-item AdvRec-v1-style catalogue (clickbait / quality / regular
texts), click logs of AdvRec-v0 users under a random logging policy (the supervised route's data;
its user tower reads v0's observation layout), split by user. Rows:

* ``frozen encoder``: only the user tower and bias train (the pretrained language model as is);
* ``fine-tuned, rho 0``: the top transformer layer fine-tuned on clean clicks;
* ``fine-tuned, rho 0.1 / 0.2 text``: the same with that share of each batch on adversarial
  rewrites (with the original label) plus the consistency loss
  (:class:`agents.supervised.text_adversarial.TextAdversarialConfig`). The rewrites are made by the
  white-box HotFlip attack against the clean fine-tuned model on ``pool_items`` training items.

Every row is then attacked **adaptively** (HotFlip against that row's own tower and scores) on
held-out target items (low-quality, never in the pool), and scored by the clean test AUC, the
targets' promotion mass before / after (probe users from the validation split, evaluation users
from the test split), exposure@10, and how far the edits move the targets in the row's item space.
"""

from __future__ import annotations

import time

import numpy as np

from advrec_gym import Catalogue
from advrec_gym.attacks.text import CandidateEncoder, HotFlipSearch, PromotionObjective, TextBudget
from advrec_gym.quality import ItemKinds
from agents.supervised.data import collect_env_logs, make_log_env, split_by_user
from agents.supervised.evaluate import clean_metrics
from agents.supervised.model import TwoTowerClickModel
from agents.supervised.text_adversarial import TextAdversarialConfig, attack_pool, click_model_scorer
from agents.supervised.train import OptimizationConfig, train

SETTINGS = {"num_items": 100, "num_topics": 10, "log_steps": 2500, "max_length": 64, "epochs": 3, "batch_size": 64,
            "freeze_layers": 1, "pool_items": 16, "pool_edits": 2, "targets": 6, "max_edits": 3, "candidates": 4,
            "rhos": (0.1, 0.2), "consistency": 1.0, "seed": 0}  # fmt: skip


def _attack(model, texts_rows, probes, budget, seed):
    encoder = CandidateEncoder(model.item_tower)
    scorer = click_model_scorer(model)
    vectors = model.catalogue_vectors().cpu().numpy()
    objective = PromotionObjective(scorer, probes, vectors, texts_rows)
    result = HotFlipSearch(budget, candidates=SETTINGS["candidates"], seed=seed).run(model.texts, objective, encoder)
    edited = vectors.copy()
    if result.texts:
        rows = sorted(result.texts)
        edited[rows] = encoder.encode([result.texts[r] for r in rows])
    return result, vectors, edited


def run(log=print, **overrides) -> dict:
    s = {**SETTINGS, **overrides}
    start = time.perf_counter()
    cat = Catalogue.synthetic(s["num_items"], s["num_topics"], s["seed"], kinds=ItemKinds())
    logs = collect_env_logs(make_log_env(cat, 16), steps=s["log_steps"], policy="random", seed=s["seed"])
    splits = split_by_user(logs, (0.7, 0.15, 0.15), seed=s["seed"])
    rng = np.random.default_rng(s["seed"])
    low = np.flatnonzero(cat.low_quality)
    targets = np.sort(rng.choice(low, size=s["targets"], replace=False))
    rest = np.setdiff1d(np.arange(cat.num_items), targets)
    pool_rows = np.sort(rng.choice(rest, size=s["pool_items"], replace=False))
    probes, users = splits.validation.observations[:256], splits.test.observations[:1024]
    cfg = OptimizationConfig(epochs=s["epochs"], batch_size=s["batch_size"], patience=2, progress=False, seed=s["seed"])

    def model(freeze):
        return TwoTowerClickModel.for_catalogue(cat, max_length=s["max_length"], freeze=freeze,
                                                freeze_layers=s["freeze_layers"], seed=s["seed"], device="cpu")  # fmt: skip

    rows, models = {}, {}
    for name, freeze in [("frozen encoder", "encoder"), ("fine-tuned, rho 0", "top-only")]:
        m = model(freeze)
        res = train(m, splits.train, splits.validation, cfg)
        models[name] = (m, res)
        log(f"  trained {name}: best epoch {res.best_epoch}, val AUC {res.best_val_auc:.3f}")
    t0 = time.perf_counter()
    pool_attack = HotFlipSearch(TextBudget(max_edits=s["pool_edits"]), candidates=s["candidates"], seed=s["seed"])
    pool = attack_pool(pool_attack, models["fine-tuned, rho 0"][0], probes, pool_rows)
    log(f"  pool: {len(pool)} of {len(pool_rows)} items rewritten in {time.perf_counter() - t0:.0f} s")
    for rho in s["rhos"]:
        name = f"fine-tuned, rho {rho:g} text"
        m = model("top-only")
        res = train(
            m,
            splits.train,
            splits.validation,
            cfg,
            TextAdversarialConfig(rho=rho, pool=pool, consistency=s["consistency"]),
        )
        models[name] = (m, res)
        log(f"  trained {name}: best epoch {res.best_epoch}, val AUC {res.best_val_auc:.3f}")
    budget = TextBudget(max_edits=s["max_edits"], targets=tuple(targets.tolist()))
    for name, (m, res) in models.items():
        result, clean_vec, edited_vec = _attack(m, targets, probes, budget, s["seed"])
        scorer = click_model_scorer(m)
        before = PromotionObjective(scorer, users, clean_vec, targets).report(clean_vec)
        after = PromotionObjective(scorer, users, clean_vec, targets).report(edited_vec)
        shift = np.linalg.norm(edited_vec[targets] - clean_vec[targets], axis=1)
        rows[name] = {
            "test_auc": clean_metrics(m, splits.test)["auc"], "best_epoch": res.best_epoch,
            "mass_before": before["mass"], "mass_after": after["mass"],
            "exposure_before": before["exposure@10"], "exposure_after": after["exposure@10"],
            "shift_l2_mean": float(shift.mean()), "edited": len(result.texts),
            "examples_per_second": res.examples_per_second, "attack_seconds": result.wall_seconds,
        }  # fmt: skip
        log(f"  {name:26s} AUC {rows[name]['test_auc']:.3f}  mass {before['mass']:.4f} -> {after['mass']:.4f}  "
            f"exposure@10 {before['exposure@10']:.3f} -> {after['exposure@10']:.3f}  shift {shift.mean():.3f}")  # fmt: skip
    return {"settings": {k: list(v) if isinstance(v, tuple) else v for k, v in s.items()}, "targets": targets.tolist(),
            "pool_rows": pool_rows.tolist(), "rows": rows, "wall_seconds": time.perf_counter() - start}  # fmt: skip


def table(result: dict) -> str:
    lines = [f"{'row':26s} {'test AUC':>8s} {'mass clean':>10s} {'mass attacked':>13s} {'exp@10 clean':>12s} "
             f"{'exp@10 attacked':>15s} {'edit shift':>10s}"]  # fmt: skip
    for name, r in result["rows"].items():
        lines.append(f"{name:26s} {r['test_auc']:8.3f} {r['mass_before']:10.4f} {r['mass_after']:13.4f} "
                     f"{r['exposure_before']:12.3f} {r['exposure_after']:15.3f} {r['shift_l2_mean']:10.3f}")  # fmt: skip
    return "\n".join(lines)
