"""The text track: realisable item-text attacks on PPO recommenders over AdvRec-v1, and defences.

For each training seed: a PPO item-embedding recommender (``benchmarks/text/victims.py``) is evaluated
on the default AdvRec-v1 catalogue, clean and with the texts of the attacker's items (1% of the
catalogue, drawn from the low-quality items, the same items for every seed) rewritten by the black-box
greedy search at several edit budgets and by the white-box HotFlip search. Every cell is evaluated
on the same users (one evaluation seed, ``--episodes`` episodes), so clean and attacked are paired.
Reported per cell, as medians over seeds with 95% bootstrap CIs: return, share of low-quality items
shown, target exposure (probability mass and exposure@10 on evaluation users' states), how often a
target was shown and clicked in the env; and for the edits their embedding shift and the observation
shift they cause (replayed on the clean rollouts), next to the eps-ball grid. Then the edit detector's
precision / recall against benign rewrites.

Sections (``--sections``): ``attacks`` (the above), ``finetune`` (the click model's fine-tuning
defence, ``benchmarks/text/finetune_defence.py``) and ``game`` (the PPO recommender trained against
the greedy text attacker for ``--game-rounds`` rounds of ``--game-steps`` steps, against a control
trained as long on the clean catalogue, both then attacked afresh: ``benchmarks/text/game.py``).

    python benchmarks/text_track.py                     # 10 seeds x 500 episodes, every section (hours on 2 cores)
    python benchmarks/text_track.py --sections game     # only the game (the other sections' numbers stay)
    python benchmarks/text_track.py --quick             # 1 seed, 100 episodes, one budget, one short round

Writes ``benchmarks/results/text/text_track.json`` (command, commit, per-seed and summary numbers).
Victims and candidate encodings are cached under ``--work-dir``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from advrec_gym import AdvRecVectorEnv  # noqa: E402
from advrec_gym._io import atomic_write_bytes  # noqa: E402
from advrec_gym.attacks.text import (  # noqa: E402
    CandidateEncoder,
    TextBudget,
    probe_observations,
    swapped_catalogue,
    text_attack_cell,
)
from advrec_gym.attacks.text.shift import block_norms, observation_shift, share_within  # noqa: E402
from advrec_gym.encoder import TransformerEncoder  # noqa: E402
from advrec_gym.evaluation import evaluate  # noqa: E402
from advrec_gym.options import default_catalogue  # noqa: E402
from advrec_gym.quality import ItemKinds  # noqa: E402
from agents.baselines import RandomPolicy  # noqa: E402
from agents.defences.text_detector import (  # noqa: E402
    EditDetector,
    benign_rewrites,
    precision_recall,
    promotional_direction,
)
from agents.heuristics import NearestNeighbour  # noqa: E402
from benchmarks.provenance import provenance  # noqa: E402
from benchmarks.text import finetune_defence, game  # noqa: E402
from benchmarks.text.rollouts import EVAL_SEED, TargetCounter, run_cell  # noqa: E402
from benchmarks.text.stats import fmt, summarize  # noqa: E402
from benchmarks.text.victims import train_victim  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "text" / "text_track.json"
LINF_GRID, L2_GRID = (0.005, 0.01, 0.02), (0.1, 0.25, 0.5)
SECTIONS = ("attacks", "finetune", "game")
EVAL_ENVS = 100


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--seeds", type=int, nargs="+", default=list(range(10)), help="training seeds of the victims")
    p.add_argument("--steps", type=int, default=200_000, help="PPO steps per victim")
    p.add_argument("--episodes", type=int, default=500, help="evaluation episodes per cell")
    p.add_argument("--budgets", type=int, nargs="+", default=[1, 3, 6], help="max word edits of the greedy attack")
    p.add_argument("--hotflip-budget", type=int, default=3, help="max word edits of the white-box attack (0: skip)")
    p.add_argument("--share", type=float, default=0.01, help="share of the catalogue the attacker controls")
    p.add_argument("--min-similarity", type=float, default=0.85, help="chrF floor")
    p.add_argument("--probe-users", type=int, default=256, help="attacker's probe observations")
    p.add_argument("--work-dir", type=Path, default=ROOT / "runs" / "text_track")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument(
        "--sections",
        nargs="+",
        default=list(SECTIONS),
        choices=SECTIONS,
        help="attacks: PPO victims, attacks, shifts, detector; finetune: the click model's fine-tuning defence; "
        "game: the PPO recommender trained against the greedy text attacker",
    )
    p.add_argument("--game-rounds", type=int, default=3, help="game: attack-then-train rounds")
    p.add_argument(
        "--game-steps", type=int, default=24_576, help="game: PPO steps per round (the control trains as many)"
    )
    p.add_argument("--game-budget", type=int, default=3, help="game: max word edits of the greedy attacker")
    p.add_argument("--quick", action="store_true", help="1 seed, 100 episodes, the default budget only, 1 short round")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.episodes, args.budgets, args.hotflip_budget = args.seeds[:1], 100, [3], 0
        args.game_rounds, args.game_steps = 1, 4096
    for name in ("steps", "episodes", "probe_users", "game_rounds", "game_steps", "game_budget"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if any(b < 1 for b in args.budgets) or args.hotflip_budget < 0:
        p.error(f"--budgets must be >= 1 and --hotflip-budget >= 0, got {args.budgets} and {args.hotflip_budget}")
    if not 0 < args.share <= 1 or not 0 <= args.min_similarity <= 1:
        p.error(f"--share must be in (0, 1] and --min-similarity in [0, 1], got {args.share}, {args.min_similarity}")
    return args


def seed_run(seed, args, catalogue, encoder, targets, log):
    """Every cell of one training seed."""
    victim = train_victim(catalogue, seed, args.steps, args.work_dir, log=log)
    venv = AdvRecVectorEnv(EVAL_ENVS, catalogue)
    eval_obs = _eval_obs(victim, catalogue)
    clean, counter = run_cell(venv, victim, catalogue, targets, args.episodes, eval_obs, log=True)
    events = counter.events()
    probes = probe_observations(victim, catalogue, args.probe_users, seed)
    cells = {"clean": clean}
    transfer = {"random": _baseline(venv, RandomPolicy(catalogue.num_items, 1, seed=seed), targets, args.episodes),
                "nearest-neighbour": _baseline(venv, NearestNeighbour(catalogue), targets, args.episodes)}  # fmt: skip
    configs = [("greedy", m) for m in args.budgets] + (
        [("hotflip", args.hotflip_budget)] if args.hotflip_budget else []
    )
    shifts = {}
    for attack, m in configs:
        name = f"{attack}-{m}"
        budget = TextBudget(max_edits=m, min_similarity=args.min_similarity, targets=tuple(targets.tolist()))
        edited, stats = text_attack_cell(victim, catalogue, budget, seed, attack=attack, encoder=encoder, probes=probes)
        metrics, _ = run_cell(venv, victim, edited, targets, args.episodes, eval_obs)
        obs_shift = observation_shift(catalogue.embeddings, edited.embeddings, events["items"], events["clicks"],
                                      events["satisfaction"], events["starts"], catalogue.dim)  # fmt: skip
        affected = obs_shift["linf"] > 0
        shifts[name] = {
            "item_linf": stats["shift_linf"], "item_l2": stats["shift_l2"],
            "obs_linf_affected": obs_shift["linf"][affected].tolist(), "obs_l2_affected": obs_shift["l2"][affected].tolist(),
            "affected_share": float(affected.mean()),
            "block_norms": block_norms(obs_shift["clean_obs"], catalogue.dim).tolist(),
        }  # fmt: skip
        with swapped_catalogue(venv, None, edited):
            transfer[f"nearest-neighbour {name}"] = _baseline(venv, NearestNeighbour(edited), targets, args.episodes)
        cells[name] = {**metrics, "attack_stats": {k: v for k, v in stats.items() if k != "per_target"},
                       "edits": [{k: t[k] for k in ("row", "original", "edited", "edits", "similarity")} for t in stats["per_target"]],
                       "edited_embeddings": {int(r): edited.embeddings[r].tolist() for r in targets}}  # fmt: skip
        log(f"  seed {seed} {name:10s} return {metrics['return']:.2f} (clean {clean['return']:.2f})  mass {metrics['mass']:.4f} "
            f"(clean {clean['mass']:.4f})  exposure@10 {metrics['exposure@10']:.3f}  {stats['texts_encoded']} encodings "
            f"{stats['wall_seconds']:.0f} s")  # fmt: skip
    return {"cells": cells, "shifts": shifts, "transfer": transfer}


def _baseline(venv, policy, targets, episodes) -> dict:
    """Return, low-quality share and target rates of a training-free policy (the edits made against PPO, transferred)."""
    counter = TargetCounter(venv, targets)
    s = evaluate(counter, policy, episodes=episodes, seed=EVAL_SEED).summary()
    return {"return": s["return_mean"], "low_quality_shown": s["low_quality_shown"], **counter.rates()}


_EVAL_OBS: dict[int, np.ndarray] = {}


def _eval_obs(victim, catalogue) -> np.ndarray:
    """Evaluation users' states for the exposure metrics (a stream of their own, seeded by ``EVAL_SEED``)."""
    key = id(victim)
    if key not in _EVAL_OBS:
        _EVAL_OBS[key] = probe_observations(victim, catalogue, 1024, EVAL_SEED)
    return _EVAL_OBS[key]


def detector_section(catalogue, encoder, per_seed, targets, max_edits, log) -> dict:
    """Precision / recall of the edit detector: attacked edits vs benign synonym rewrites of other items."""
    rng = np.random.default_rng(0)
    others = np.setdiff1d(np.arange(catalogue.num_items), targets)
    rows = rng.choice(others, size=min(200, len(others)), replace=False)
    benign = benign_rewrites(catalogue.texts, rows, max_edits, seed=0)
    b_rows = np.array(sorted(benign))
    b_emb = encoder.encode([benign[r] for r in b_rows])
    half = len(b_rows) // 2
    cents = catalogue.topic_centroids()[catalogue.topic_index]
    pos_prev, pos_new, pos_c = [], [], []
    for run in per_seed:
        for name, cell in run["cells"].items():
            if name == "clean":
                continue
            for r, vec in cell["edited_embeddings"].items():
                pos_prev.append(catalogue.embeddings[int(r)])
                pos_new.append(np.asarray(vec, np.float32))
                pos_c.append(cents[int(r)])
    out = {"benign_calibration": int(half), "benign_test": int(len(b_rows) - half), "attacked": len(pos_new)}
    direction = promotional_direction(encoder)
    for score in ("shift", "topic", "direction"):
        det = EditDetector(score=score, fpr=0.05, direction=direction)
        det.fit(catalogue.embeddings[b_rows[:half]], b_emb[:half], cents[b_rows[:half]])
        prev = np.concatenate([catalogue.embeddings[b_rows[half:]], np.array(pos_prev)])
        new = np.concatenate([b_emb[half:], np.array(pos_new)])
        cc = np.concatenate([cents[b_rows[half:]], np.array(pos_c)])
        labels = np.concatenate([np.zeros(len(b_rows) - half, bool), np.ones(len(pos_new), bool)])
        out[score] = {"threshold": det.threshold, **precision_recall(det.flag(prev, new, cc), labels)}
        log(f"  detector ({score}): threshold {det.threshold:.4f}  {out[score]}")
    return out


def _slim(run: dict) -> dict:
    """A seed's cells for the committed JSON: the raw per-step shifts and edited embeddings stay in the work dir."""
    cells = {name: {k: v for k, v in cell.items() if k != "edited_embeddings"} for name, cell in run["cells"].items()}
    shifts = {}
    for name, sh in run["shifts"].items():
        shifts[name] = {k: v for k, v in sh.items() if not k.startswith("obs_")}
        for k in ("obs_linf_affected", "obs_l2_affected"):
            v = np.asarray(sh[k])
            shifts[name][k + "_quantiles"] = np.percentile(v, [5, 25, 50, 75, 95]).tolist() if v.size else []
    return {"cells": cells, "shifts": shifts, "transfer": run["transfer"]}


def summary_tables(per_seed, args) -> tuple[dict, str]:
    names = list(per_seed[0]["cells"])
    metrics = ("return", "low_quality_shown", "mass", "exposure@10", "target_shown", "target_clicks")
    summary, lines = {}, []
    lines.append(f"{'cell':11s} " + " ".join(f"{m:>22s}" for m in metrics))
    for name in names:
        summary[name] = {m: summarize([run["cells"][name][m] for run in per_seed]) for m in metrics}
        clean = [run["cells"]["clean"] for run in per_seed]
        cell = [run["cells"][name] for run in per_seed]
        # paired per seed (same victim, same evaluation users), then summarised over seeds
        summary[name]["return_drop"] = summarize([c["return"] - a["return"] for c, a in zip(clean, cell, strict=True)])
        summary[name]["mass_ratio"] = summarize([a["mass"] / c["mass"] for c, a in zip(clean, cell, strict=True)])
        summary[name]["exposure_gain"] = summarize(
            [a["exposure@10"] - c["exposure@10"] for c, a in zip(clean, cell, strict=True)]
        )
        summary[name]["target_shown_ratio"] = summarize(
            [a["target_shown"] / max(c["target_shown"], 1e-12) for c, a in zip(clean, cell, strict=True)]
        )
        digits = {
            "return": 2,
            "low_quality_shown": 3,
            "mass": 4,
            "exposure@10": 3,
            "target_shown": 4,
            "target_clicks": 4,
        }
        lines.append(f"{name:11s} " + " ".join(f"{fmt(summary[name][m], digits[m]):>22s}" for m in metrics))
    lines.append("")
    lines.append("paired per seed (attacked vs clean, same victim and users): medians over seeds [95% bootstrap CI]")
    lines.append(
        f"{'cell':11s} {'return drop':>22s} {'mass ratio':>22s} {'exposure@10 gain':>22s} {'target shown ratio':>22s}"
    )
    for name in names[1:]:
        keys = ("return_drop", "mass_ratio", "exposure_gain", "target_shown_ratio")
        lines.append(f"{name:11s} " + " ".join(f"{fmt(summary[name][k], 3):>22s}" for k in keys))
    lines.append("")
    lines.append("edit shift vs the eps-ball grid (medians over edited items / affected steps, all seeds)")
    lines.append(f"{'cell':11s} {'item Linf':>9s} {'item L2':>8s} {'obs Linf':>9s} {'obs L2':>7s}  "
                 + " ".join(f"Linf<={e:g}" for e in LINF_GRID) + "  " + " ".join(f"L2<={e:g}" for e in L2_GRID))  # fmt: skip
    shift_summary = {}
    for name in names[1:]:
        pooled = {k: np.concatenate([np.asarray(run["shifts"][name][k]) for run in per_seed])
                  for k in ("item_linf", "item_l2", "obs_linf_affected", "obs_l2_affected")}  # fmt: skip
        within_linf = share_within(pooled["obs_linf_affected"], LINF_GRID)
        within_l2 = share_within(pooled["obs_l2_affected"], L2_GRID)
        shift_summary[name] = {
            **{f"{k}_median": float(np.median(v)) for k, v in pooled.items()},
            **{f"{k}_p95": float(np.percentile(v, 95)) for k, v in pooled.items()},
            "obs_within_linf": within_linf, "obs_within_l2": within_l2,
            "affected_share": float(np.mean([run["shifts"][name]["affected_share"] for run in per_seed])),
        }  # fmt: skip
        s = shift_summary[name]
        lines.append(f"{name:11s} {s['item_linf_median']:9.4f} {s['item_l2_median']:8.3f} {s['obs_linf_affected_median']:9.4f} "
                     f"{s['obs_l2_affected_median']:7.3f}  " + " ".join(f"{within_linf[f'{e:g}']:9.2f}" for e in LINF_GRID)
                     + "  " + " ".join(f"{within_l2[f'{e:g}']:7.2f}" for e in L2_GRID))  # fmt: skip
    norms = np.nanmean([run["shifts"][names[1]]["block_norms"] for run in per_seed], axis=0) if len(names) > 1 else []
    lines.append(
        f"history block L2 norms on these rollouts (liked, regretted, skipped, shown): {np.round(norms, 3).tolist()}"
    )
    return {"cells": summary, "shifts": shift_summary, "block_norms": list(map(float, norms))}, "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()

    def log(msg):
        print(msg, flush=True)

    payload = {
        "command": "python benchmarks/text_track.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "provenance": provenance(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": 1},
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    stamp = {"command": payload["command"], "provenance": payload["provenance"]}
    if "attacks" in args.sections:
        payload["attacks"] = {**stamp, **attacks_section(args, log)}
    if "finetune" in args.sections:
        log("== the click model's fine-tuning defence")
        quick = {"log_steps": 600, "pool_items": 6, "targets": 4, "epochs": 1, "rhos": (0.2,)} if args.quick else {}
        payload["finetune"] = {**stamp, **finetune_defence.run(log=log, **quick)}
        print(finetune_defence.table(payload["finetune"]))
    if "game" in args.sections:
        log("== the game: the PPO recommender trained against the greedy text attacker")
        payload["game"] = {**stamp, **game_section(args, log)}
    payload["wall_seconds"] = time.perf_counter() - start
    if args.out.exists():  # keep the other sections' numbers (each section carries its own command and commit)
        old = json.loads(args.out.read_text())
        payload.update({k: old[k] for k in SECTIONS if k in old and k not in args.sections})
    atomic_write_bytes(args.out, (json.dumps(payload, indent=1, default=float) + "\n").encode())
    log(f"wrote {args.out} ({payload['wall_seconds']:.0f} s)")
    return 0


def attacks_section(args, log) -> dict:
    catalogue = default_catalogue(1000, 20, 0, ItemKinds(), None, None)
    encoder = CandidateEncoder(TransformerEncoder())
    memo = args.work_dir / "candidate-encodings.npz"
    log(f"loaded {encoder.load(memo)} cached candidate encodings")
    targets = TextBudget(share=args.share).select_targets(
        catalogue, seed=0
    )  # the attacker's items: one set for all seeds
    log(f"targets (rows): {targets.tolist()}  kinds: {[catalogue.kinds[t] for t in targets]}")
    per_seed = []
    keys = ("steps", "episodes", "budgets", "hotflip_budget", "share", "min_similarity", "probe_users")
    spec = json.dumps({k: getattr(args, k) for k in keys}, sort_keys=True)
    for seed in args.seeds:  # each seed's cells are cached, so a run resumes (and more seeds can be added)
        cached = args.work_dir / "cells" / f"seed{seed}-{hashlib.sha256(spec.encode()).hexdigest()[:12]}.json"
        if cached.exists():
            per_seed.append(json.loads(cached.read_text()))
            log(f"  seed {seed}: reused {cached}")
            continue
        per_seed.append(seed_run(seed, args, catalogue, encoder, targets, log))
        atomic_write_bytes(cached, json.dumps(per_seed[-1], default=float).encode())
        encoder.save(memo)
    summary, table = summary_tables(per_seed, args)
    det = detector_section(catalogue, encoder, per_seed, targets, max(args.budgets), log)
    encoder.save(memo)
    print(table)
    return {
        "targets": targets.tolist(),
        "summary": summary,
        "detector": det,
        "transfer": {
            name: {m: summarize([run["transfer"][name][m] for run in per_seed]) for m in per_seed[0]["transfer"][name]}
            for name in per_seed[0]["transfer"]
        },  # fmt: skip
        "per_seed": [{"seed": s, **_slim(run)} for s, run in zip(args.seeds, per_seed, strict=True)],
        "encoder": encoder.stats(),
    }


def game_section(args, log) -> dict:
    """Defence (c): per seed, the rounds of the game and the paired evaluation (``benchmarks/text/game.py``)."""
    catalogue = default_catalogue(1000, 20, 0, ItemKinds(), None, None)
    encoder = CandidateEncoder(TransformerEncoder())
    memo = args.work_dir / "candidate-encodings.npz"
    log(f"loaded {encoder.load(memo)} cached candidate encodings")
    targets = TextBudget(share=args.share).select_targets(catalogue, seed=0)  # the attacks section's targets
    settings = game.GameSettings(
        victim_steps=args.steps, rounds=args.game_rounds, steps=args.game_steps, max_edits=args.game_budget,
        min_similarity=args.min_similarity, hotflip_edits=args.hotflip_budget, probe_users=args.probe_users,
        episodes=args.episodes,
    )  # fmt: skip
    # "cells": the per-seed record's version (2: with the logit parts), so an older cache is never reused
    spec = json.dumps({**settings.to_dict(), "targets": targets.tolist(), "cells": 2}, sort_keys=True)
    load = game.load_victim_fn(catalogue, args.steps, args.work_dir, log)
    per_seed = []
    for seed in args.seeds:  # each seed is cached, so a run resumes
        cached = args.work_dir / "game" / f"seed{seed}-{hashlib.sha256(spec.encode()).hexdigest()[:12]}.json"
        if cached.exists():
            per_seed.append(json.loads(cached.read_text()))
            log(f"  seed {seed}: reused {cached}")
            continue
        per_seed.append(game.seed_game(catalogue, seed, targets, settings, encoder, load, log))
        atomic_write_bytes(cached, json.dumps(per_seed[-1], default=float).encode())
        encoder.save(memo)
        log(f"  seed {seed}: {per_seed[-1]['wall_seconds']:.0f} s, {per_seed[-1]['texts_encoded']} texts encoded")
    summary = game.summary(per_seed)
    print(game.table(summary))
    slim = [{**run, "cells": {m: {c: {k: v for k, v in cell.items() if k != "returns"} for c, cell in cells.items()}
                              for m, cells in run["cells"].items()}} for run in per_seed]  # fmt: skip
    return {"settings": settings.to_dict(), "targets": targets.tolist(), "summary": summary, "per_seed": slim,
            "encoder": encoder.stats()}  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
