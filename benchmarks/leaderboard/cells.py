"""The board's units of work and where their results live.

* a **train cell** ``(row, training seed)`` trains the row's policy once and writes its artifact and
  ``runs/train/<row>/seed-<k>.json`` (training cost, artifact checksum);
* an **eval cell** ``(row, training seed, attack, eps)`` loads that policy, builds the attack (for the
  learned adversary: trains one afresh against the policy), evaluates every mode on every evaluation
  seed, and writes ``runs/eval/<row>/seed-<k>/<attack>@<eps>.json``: one record per mode.

Each file's ``spec`` holds everything that decides its numbers (for an eval cell, the checksum of the
policy artifact too, so a retrained policy invalidates its evaluations). Cells run in worker processes
(:mod:`.runner`); the functions here are top level so that the ``spawn`` start method can import them.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.leaderboard import entries, envs
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
def train_path(runs: Path, cell: TrainCell) -> Path:
    return runs / "train" / cell.row.slug / f"seed-{cell.seed}.json"


def model_dir(runs: Path, cell: TrainCell) -> Path:
    """Where a train cell writes its policy (emptied before training)."""
    return runs / "models" / cell.row.slug / f"seed-{cell.seed}"


def eval_path(runs: Path, cell: EvalCell) -> Path:
    return runs / "eval" / cell.row.slug / f"seed-{cell.seed}" / f"{cell.attack}@{cell.eps:g}.json"


# Bump when the code of a cell changes its numbers: files written by older code become stale.
CELL_VERSION = 1


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


def eval_spec(config: BoardConfig, cell: EvalCell, artifact_sha256: str | None) -> dict:
    spec = train_spec(config, TrainCell(cell.row, cell.seed))
    spec.update(
        attack=cell.attack,
        eps=cell.eps,
        eval_seeds=list(config.eval_seeds),
        episodes=config.episodes,
        modes=list(config.modes),
        artifact_sha256=artifact_sha256,
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
def run_train_cell(config: BoardConfig, cell: TrainCell, runs: Path) -> None:
    """Train the row for one seed; write its artifact, then its cell file (in that order)."""
    workdir = model_dir(runs, cell)
    if workdir.exists():  # what an interrupted or invalidated training left behind
        shutil.rmtree(workdir)
    outcome = entries.train_row(cell.row, cell.seed, config, workdir)
    artifact = outcome.artifact
    payload = {
        "env_steps": outcome.env_steps,
        "wall_s": round(outcome.wall_s, 3),
        "artifact": None if artifact is None else artifact.relative_to(runs).as_posix(),
        "artifact_sha256": None if artifact is None else sha256_file(artifact),
    }
    write_cell(train_path(runs, cell), "train", train_spec(config, cell), payload)


def run_eval_cell(config: BoardConfig, cell: EvalCell, runs: Path, trained: dict) -> None:
    """Score one (row, seed, attack, eps) in every mode on every evaluation seed; write its cell file.

    ``trained`` is the payload of the row's train cell (its artifact and the artifact's checksum).
    """
    from advrec_gym.attacks import Budget
    from advrec_gym.wrappers import AdversarialObservation
    from agents.evaluation import evaluate

    row, attack = cell.row, cell.attack
    artifact = None if trained["artifact"] is None else runs / trained["artifact"]
    spec = eval_spec(config, cell, trained["artifact_sha256"])
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
            }
            for m in config.modes
        ]
        write_cell(eval_path(runs, cell), "eval", spec, {"records": records, "adversary": None})
        return
    venv = envs.make_vec(config.env, config.num_envs)
    budget = Budget(cell.eps, config.norm) if attack != NATURAL else None
    adversary, adversary_cost = None, None
    policy = entries.load_policy(row, cell.seed, artifact, venv, envs.derive_seed("adversary-victim", cell.seed))
    if attack in ("learned", "pa-ad"):  # a best response trained afresh, its learning curve kept with the cell
        adversary = entries.train_adversary(policy, config, budget, seed=envs.train_env_seed(cell.seed), kind=attack)
        adversary_cost = adversary.summary()
    records = []
    for mode in config.modes:
        returns, lengths, clicks, per_seed = [], [], [], []
        for eval_seed in config.eval_seeds:
            # The policy's own draws do not depend on the attack: every cell of a (row, seed, mode,
            # evaluation seed) replays the same random numbers (common random numbers), so differences
            # between attacks are the attacks' doing, not sampling noise.
            tag = (row.slug, cell.seed, mode, eval_seed)
            entries.reseed(policy, envs.derive_seed("policy", *tag))
            env = venv
            if attack != NATURAL:
                attack_seed = envs.derive_seed("attack", *tag, attack, cell.eps)
                attacker = entries.make_attack(attack, policy, budget, attack_seed, adversary)
                env = AdversarialObservation(venv, attacker, ratio=1.0)
            result = evaluate(
                env,
                entries.actor(policy, envs.derive_seed("actor", *tag)),
                config.episodes,
                seed=envs.eval_env_seed(eval_seed),
                deterministic=mode == "greedy",
            )
            returns.append(result.returns)
            lengths.append(result.lengths)
            clicks.append(result.clicks)
            per_seed.append(round(result.mean_return, 6))
        all_returns = np.concatenate(returns)
        records.append(
            {
                **base,
                "mode": mode,
                "applicable": True,
                "return_mean": round(float(all_returns.mean()), 6),
                "return_std": round(float(all_returns.std()), 6),
                "ctr": round(float(np.concatenate(clicks).sum() / max(np.concatenate(lengths).sum(), 1)), 6),
                "episodes": int(all_returns.size),
                "eval_returns": per_seed,
            }
        )
    write_cell(eval_path(runs, cell), "eval", spec, {"records": records, "adversary": adversary_cost})


def execute(task: tuple) -> tuple[str, str | None, float]:
    """Run one task in this process; return (key, error or None, wall seconds). Never raises.

    ``task`` is ``("train", config, cell, runs)`` or ``("eval", config, cell, runs, train_payload)``.
    """
    kind, config, cell, runs, *rest = task
    start = time.perf_counter()
    try:
        if kind == "train":
            run_train_cell(config, cell, runs)
        else:
            run_eval_cell(config, cell, runs, *rest)
    except Exception as exc:  # a failed cell is reported by the runner and retried on the next run
        return cell.key(), f"{type(exc).__name__}: {exc}", time.perf_counter() - start
    return cell.key(), None, time.perf_counter() - start


def init_worker() -> None:
    """Pool initializer: one torch thread per worker (DESIGN.md, "Conventions")."""
    import torch

    torch.set_num_threads(1)
