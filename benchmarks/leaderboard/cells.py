"""The board's units of work and where their results live.

* a **train cell** ``(row, training seed)`` trains the row's policy once, writes its artifact under
  ``runs/models/<row>/seed-<k>/`` (large, never committed: ``runs/`` is ignored by git) and then
  ``cells/train/<row>/seed-<k>.json`` (training cost, artifact checksum);
* an **eval cell** ``(row, training seed, attack, eps)`` loads that policy, builds the attack (for the
  learned adversary: trains one afresh against the policy), evaluates every mode on every evaluation
  seed, and writes ``cells/eval/<row>/seed-<k>/<attack>@<eps>.json``: one record per mode, with every
  episode's return in key order (:mod:`.scoring`), so that rows can be paired user by user.

The ``cells/`` files are small (no models, no observations) and meant to be committed: a board can be
re-plotted from them alone, and a run resumes from them on a fresh machine (:mod:`.runner`).

**What identifies a model.** Each file's ``spec`` holds everything that decides its numbers. An eval
cell's spec holds its train cell's spec (entry, defence, rho, seed, env, training settings), not the
artifact's bytes: a model is the same model when it was trained from the same spec by the same code
(the cell's code commit, :mod:`.commits`). Training is seeded end to end, but torch's CPU kernels
may differ in the last bits between machines, so a bit-identical artifact cannot be promised; an
eval cell therefore stays valid when its model's artifact is absent (say, on a fresh clone) and is
never recomputed for that. Each eval cell records the checksum of the artifact it scored
(``artifact_sha256``) and its model's code commit (``model_commit``), so a board can tell, and
report, cells that scored a retrained copy whose bytes differ.

Cells run in worker processes (:mod:`.executors`); the functions here are top level so that the
``spawn`` start method and Ray can import them.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.leaderboard import entries, envs, scoring
from benchmarks.leaderboard.protocol import NATURAL, BoardConfig, Row
from benchmarks.leaderboard.results import sha256_file, write_cell


@dataclass(frozen=True)
class TrainCell:
    row: Row
    seed: int

    def key(self) -> str:
        return f"train {self.row.slug} seed={self.seed}"


@dataclass(frozen=True)
class EvalCell:
    row: Row
    seed: int
    attack: str
    eps: float

    def key(self) -> str:
        return f"eval {self.row.slug} seed={self.seed} {self.attack}@{self.eps:g}"


# --------------------------------------------------------------------------- layout
def train_path(out: Path, cell: TrainCell) -> Path:
    return out / "cells" / "train" / cell.row.slug / f"seed-{cell.seed}.json"


def model_dir(out: Path, cell: TrainCell) -> Path:
    """Where a train cell writes its policy (emptied before training; under ``runs/``, which git ignores)."""
    return out / "runs" / "models" / cell.row.slug / f"seed-{cell.seed}"


def eval_path(out: Path, cell: EvalCell) -> Path:
    return out / "cells" / "eval" / cell.row.slug / f"seed-{cell.seed}" / f"{cell.attack}@{cell.eps:g}.json"


# Bump when the code of a cell changes its numbers: files written by older code become stale.
# 2: the env id in the spec, per-episode returns keyed by (evaluation seed, slot, index), eval specs
# identify their model by its train spec (not its artifact's checksum).
CELL_VERSION = 2


def train_spec(config: BoardConfig, cell: TrainCell) -> dict:
    """Everything that decides a trained policy (only the settings its entry uses)."""
    entry = cell.row.entry
    spec = {
        "cell_version": CELL_VERSION,
        "row": {"entry": entry, "defence": cell.row.defence, "rho": cell.row.rho},
        "seed": cell.seed,
        "env": config.env.to_dict(),
        "num_envs": config.num_envs,
    }
    if entry == "linucb":
        spec["train_steps"] = config.bandit_steps
    elif entry.startswith("ppo-"):
        spec.update(train_steps=config.train_steps, trainer_overrides=config.trainer_overrides)
        if cell.row.defence != "none":  # the defences train against the main budget
            spec.update(norm=config.norm, main_eps=config.main_eps)
        if cell.row.defence == "atla":
            spec.update(game_rounds=config.game_rounds, adversary_steps=config.adversary_steps)
    elif entry == "supervised":
        spec.update(supervised_overrides=config.supervised_overrides, norm=config.norm, main_eps=config.main_eps)
    return spec


def eval_spec(config: BoardConfig, cell: EvalCell) -> dict:
    """The eval cell's spec: its model's train spec and everything that decides the scores."""
    spec = train_spec(config, TrainCell(cell.row, cell.seed))
    spec.update(
        attack=cell.attack,
        eps=cell.eps,
        eval_seeds=list(config.eval_seeds),
        episodes=config.episodes,
        eval_slots=config.slots,
        modes=list(config.modes),
    )
    if cell.attack != NATURAL:
        spec["norm"] = config.norm
    if cell.attack in ("learned", "pa-ad"):
        spec["adversary_steps"] = config.adversary_steps
        spec["adversary_overrides"] = {k: v for k, v in config.trainer_overrides.items() if k.startswith("attacker_")}
        spec["adversary_mode"] = config.primary_mode
        settings = entries.adversary_settings(config)  # the white-box warm start's (entries.train_adversary)
        spec["adversary_warm_start"] = {k: getattr(settings, k) for k in ("attacker_fit_epochs", "attacker_fit_states")}
    return spec


# --------------------------------------------------------------------------- running
def run_train_cell(config: BoardConfig, cell: TrainCell, out: Path) -> None:
    """Train the row for one seed; write its artifact, then its cell file (in that order)."""
    workdir = model_dir(out, cell)
    if workdir.exists():  # what an interrupted or invalidated training left behind
        shutil.rmtree(workdir)
    outcome = entries.train_row(cell.row, cell.seed, config, workdir)
    artifact = outcome.artifact
    payload = {
        "env_steps": outcome.env_steps,
        "wall_s": round(outcome.wall_s, 3),
        "artifact": None if artifact is None else artifact.relative_to(out).as_posix(),
        "artifact_sha256": None if artifact is None else sha256_file(artifact),
    }
    write_cell(train_path(out, cell), "train", train_spec(config, cell), payload)


def run_eval_cell(config: BoardConfig, cell: EvalCell, out: Path, trained: dict, model_commit: str) -> None:
    """Score one (row, seed, attack, eps) in every mode on every evaluation seed; write its cell file.

    ``trained`` is the payload of the row's train cell (its artifact and the artifact's checksum),
    ``model_commit`` that cell's code commit.
    """
    from advrec_gym.attacks import Budget

    start = time.perf_counter()
    row, attack = cell.row, cell.attack
    artifact = None if trained["artifact"] is None else out / trained["artifact"]
    spec = eval_spec(config, cell)
    model = {"artifact_sha256": trained["artifact_sha256"], "model_commit": model_commit}
    base = {"attack": attack, "eps": cell.eps, "eval_seeds": list(config.eval_seeds)}
    if not row.applicable(attack):
        records = [
            {
                **base,
                "mode": m,
                "applicable": False,
                "return_mean": None,
                "ctr": None,
                "episodes": 0,
                "eval_returns": [],
                "episode_returns": [],
            }
            for m in config.modes
        ]
        payload = {"records": records, "adversary": None, "wall_s": 0.0, **model}
        write_cell(eval_path(out, cell), "eval", spec, payload)
        return
    venv = envs.make_vec(config.env, config.slots, split="test")  # MovieLens: the held-out users
    budget = Budget(cell.eps, config.norm) if attack != NATURAL else None
    adversary, adversary_cost = None, None
    policy = entries.load_policy(row, cell.seed, artifact, venv, envs.derive_seed("adversary-victim", cell.seed))
    if attack in ("learned", "pa-ad"):  # a best response trained afresh, its learning curve kept with the cell
        adversary = entries.train_adversary(policy, config, budget, seed=envs.train_env_seed(cell.seed), kind=attack)
        adversary_cost = adversary.summary()
    records = []
    for mode in config.modes:
        scored = []
        for eval_seed in config.eval_seeds:
            # The policy's own draws do not depend on the attack: every cell of a (row, seed, mode,
            # evaluation seed) replays the same random numbers (common random numbers), so differences
            # between attacks are the attacks' doing, not sampling noise.
            tag = (row.slug, cell.seed, mode, eval_seed)
            entries.reseed(policy, envs.derive_seed("policy", *tag))
            attacker = None
            if attack != NATURAL:
                attack_seed = envs.derive_seed("attack", *tag, attack, cell.eps)
                attacker = entries.make_attack(attack, policy, budget, attack_seed, adversary)
            scored.append(
                scoring.score(
                    venv,
                    entries.actor(policy, envs.derive_seed("actor", *tag)),
                    episodes=config.episodes,
                    seed=envs.eval_env_seed(eval_seed),
                    deterministic=mode == "greedy",
                    attacker=attacker,
                    measure_blocks=attack == NATURAL,
                )
            )
        returns = np.concatenate([s.returns for s in scored])
        lengths = np.concatenate([s.lengths for s in scored])
        clicks = np.concatenate([s.clicks for s in scored])
        record = {
            **base,
            "mode": mode,
            "applicable": True,
            "return_mean": round(float(returns.mean()), 6),
            "return_std": round(float(returns.std()), 6),
            "ctr": round(float(clicks.sum() / max(lengths.sum(), 1)), 6),
            "length_mean": round(float(lengths.mean()), 6),
            "episodes": int(returns.size),
            "eval_returns": [round(s.mean_return, 6) for s in scored],
            "episode_returns": compact(returns),
        }
        if attack == NATURAL:  # the clean history blocks' scale, for budgets stated as a fraction of it
            norms = np.mean([s.block_norms for s in scored], axis=0)
            record["block_norms"] = [round(float(x), 6) for x in norms]
            record["block_dim"] = int(np.asarray(venv.unwrapped.catalogue.embeddings).shape[1])
        records.append(record)
    # the whole cell's cost (loading, the adversary's training if any, every mode and evaluation seed)
    payload = {"records": records, "adversary": adversary_cost, "wall_s": round(time.perf_counter() - start, 3)}
    write_cell(eval_path(out, cell), "eval", spec, {**payload, **model})


def compact(values: np.ndarray) -> list[int | float]:
    """Per-episode numbers for a small JSON file: ints where integral (click returns), else rounded to 6 digits."""
    out = []
    for v in np.asarray(values, dtype=np.float64).tolist():
        r = round(v, 6)
        out.append(int(r) if r == int(r) else r)
    return out


def execute(task: tuple) -> tuple[str, str | None, float]:
    """Run one task in this process; return (key, error or None, wall seconds). Never raises.

    ``task`` is ``("train", config, cell, out)`` or ``("eval", config, cell, out, train_payload,
    model_commit)``.
    """
    kind, config, cell, out, *rest = task
    start = time.perf_counter()
    try:
        if kind == "train":
            run_train_cell(config, cell, out)
        else:
            run_eval_cell(config, cell, out, *rest)
    except Exception as exc:  # a failed cell is reported by the runner and retried on the next run
        return cell.key(), f"{type(exc).__name__}: {exc}", time.perf_counter() - start
    return cell.key(), None, time.perf_counter() - start


def init_worker() -> None:
    """Worker initializer: one torch thread per worker (DESIGN.md, "Conventions")."""
    import torch

    torch.set_num_threads(1)
