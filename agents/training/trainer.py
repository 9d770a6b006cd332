"""The two-player trainer: PPO recommender vs learned adversary in alternating phases (ATLA).

Read top to bottom: the phase plan, then :class:`Trainer` (build the players, run each phase, save a
checkpoint after it, evaluate at the end). A phase is a pure function of the players' weights and
optimizer states at its start and of its seed (``phase_seed(seed, index)``): SB3's generators, the env
and the attack are all reseeded when it starts. That is why a run resumed from a checkpoint continues
exactly as if it had never stopped, with no phase lost or repeated.

A run holds its directory's lock (:mod:`agents.training.run_lock`) while it builds, trains and
evaluates, so a second run on the same ``output_dir`` is refused instead of mixing its files in. A
resumed run takes its config from the checkpoint (the weights were trained with it) and refuses a
``config.json`` that disagrees with it, or weights that do not fit the model the config builds.
"""

from __future__ import annotations

import sys
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import torch
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import Logger, configure
from tqdm.auto import tqdm

from advrec_gym._io import atomic_write_json, read_json_file
from advrec_gym.attacks import LearnedAdversary, evaluate_attack
from advrec_gym.device import resolve_device
from advrec_gym.evaluation import evaluate
from agents.defences import GAME_DEFENCES, SAPPO, attacked_env, training_attacker
from agents.training import checkpoint as ckpt
from agents.training.adversary_fit import fit_adversary_phase
from agents.training.config import TrainConfig
from agents.training.players import (
    adversary_env,
    budget_of,
    make_adversary,
    make_recommender,
    phase_seed,
    recommender_view,
    sb3_env,
    silent_logger,
)
from agents.training.report import (
    EVAL_SEED_OFFSET,
    best_response_recipe,
    evaluate_recommender,
    format_table,
    train_best_response,
)
from agents.training.run_lock import RunLock

#: fields a resumed run may change (the rest would not fit the saved weights or the phases already run)
RESUME_OVERRIDES = ("rounds", "device", "progress_bar", "eval_episodes", "phase_eval_episodes", "eval_attacks")


# ---------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class Phase:
    """One phase of the game: ``player`` trains for ``steps`` while the other is frozen."""

    index: int
    round: int  # 0 is the clean warm-up; the game's rounds count from 1
    player: str  # "recommender" or "adversary"
    steps: int

    @property
    def name(self) -> str:
        return "warm-up" if self.round == 0 else f"round {self.round} {self.player}"


def phase_plan(config: TrainConfig) -> list[Phase]:
    """The phases of a run, in order: [warm-up], then per round the recommender and (atla) the adversary."""
    plan: list[tuple[int, str, int]] = []
    if config.warmup_steps:
        plan.append((0, "recommender", config.warmup_steps))
    for r in range(1, config.rounds + 1):
        if config.recommender_steps:
            plan.append((r, "recommender", config.recommender_steps))
        if config.defence in GAME_DEFENCES:
            plan.append((r, "adversary", config.attacker_steps))
    return [Phase(i, r, p, s) for i, (r, p, s) in enumerate(plan)]


# ---------------------------------------------------------------------- logging
class _PhaseCallback(BaseCallback):
    """Logs the rollouts' CTR and attacked share, and advances the game's progress bar."""

    def __init__(self, bar: tqdm, limit: int):
        super().__init__()
        self.bar, self.limit = bar, limit
        self.clicks = self.attacked = self.steps = self.shown = 0

    def _on_rollout_start(self) -> None:
        self.clicks = self.attacked = self.steps = 0

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            self.clicks += bool(info.get("click", False))
            self.attacked += bool(info.get("attacked", False))
        self.steps += len(self.locals["infos"])
        return True

    def _on_rollout_end(self) -> None:
        if self.steps:
            self.logger.record("rollout/ctr", self.clicks / self.steps)
            self.logger.record("rollout/attacked_share", self.attacked / self.steps)
        step = min(self.steps, self.limit - self.shown)
        self.shown += step
        self.bar.update(step)


class _LearningCurve(BaseCallback):
    """Evaluates the recommender clean every ``every`` of its env steps and appends a point to ``curve``."""

    def __init__(self, trainer: Trainer):
        super().__init__()
        self.trainer = trainer
        self.every = trainer.config.curve_every

    def _on_step(self) -> bool:
        if self.num_timesteps // self.every > self.trainer.curve_points():
            self.trainer.record_curve_point()
        return True


def _logger(config: TrainConfig, player: str) -> Logger:
    if not config.tensorboard:
        return silent_logger()
    return configure(str(Path(config.output_dir) / "tb" / player), ["tensorboard"])


# ---------------------------------------------------------------------- the trainer
class Trainer:
    """Runs the game of a :class:`TrainConfig`, checkpointing both players after every phase.

    Args:
        config: the run's configuration; its ``output_dir`` must not already hold checkpoints
            (use :meth:`resume` to continue a run), nor be in use by another run.
        stream: where the evaluation table and messages go (the progress bar uses stderr).

    Raises:
        agents.training.run_lock.RunLockedError: another run holds ``output_dir``'s lock.
        FileExistsError: ``output_dir`` already holds a run's checkpoints.
        ValueError: the device is not available.

    The lock is taken here and given back when :meth:`train` ends (or by :meth:`close`).

    Example:
        >>> rows = Trainer(TrainConfig(defence="atla", rounds=2, output_dir="runs/demo")).train()  # doctest: +SKIP
        >>> rows = Trainer.resume("runs/demo").train()                                              # doctest: +SKIP
    """

    def __init__(
        self, config: TrainConfig, *, stream: TextIO | None = None, _checkpoint: ckpt.Checkpoint | None = None
    ):
        if not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}.")
        self.config = config
        self.stream = sys.stdout if stream is None else stream
        self.run_dir = Path(config.output_dir)
        self.plan = phase_plan(config)
        self.device = resolve_device(config.device)
        self.budget = budget_of(config)
        self._lock = RunLock(self.run_dir).acquire()
        self._release = weakref.finalize(self, self._lock.release)  # also if train() is never called
        try:
            if _checkpoint is None and ckpt.latest_checkpoint(self.run_dir) is not None:
                raise FileExistsError(
                    f"output_dir {self.run_dir} already holds a run's checkpoints: continue it with "
                    f"`advrec train --resume {self.run_dir}` (Trainer.resume) or choose another output_dir."
                )
            # The players, each on its own env; the recommender's env is replaced every phase.
            self.recommender = make_recommender(config, sb3_env(recommender_view(config)), self.device)
            self.adversary = None
            if config.defence in GAME_DEFENCES:
                self.adversary = make_adversary(config, adversary_env(config, self.recommender), self.device)
            self.results: list[dict[str, Any]] = []
            self.curve: list[dict[str, Any]] = []
            self.next_phase = 0
            if _checkpoint is not None:
                self._load(_checkpoint)  # checks the weights fit before anything is written
            atomic_write_json(self.run_dir / "config.json", config.to_dict())
            self.recommender.set_logger(_logger(config, "recommender"))
            if self.adversary is not None:
                self.adversary.set_logger(_logger(config, "adversary"))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Give back the run directory's lock (:meth:`train` does when it ends)."""
        self._lock.release()

    # ------------------------------------------------------------------ resume
    @classmethod
    def resume(cls, run_dir: str, *, stream: TextIO | None = None, **overrides: Any) -> Trainer:
        """Continue the run in ``run_dir`` after its last complete checkpoint.

        Args:
            run_dir: the run's ``output_dir``.
            stream: as in the constructor.
            **overrides: changes to the saved config, among :data:`RESUME_OVERRIDES` (e.g. more ``rounds``).

        The config is the latest checkpoint's (the one its weights were trained with), with the
        :data:`RESUME_OVERRIDES` of ``config.json`` and of ``overrides``; ``config.json`` must agree
        with the checkpoint on every other field.

        Raises:
            FileNotFoundError: ``run_dir`` does not exist or holds no run (no ``config.json``).
            ValueError: an override that a resumed run may not change, a ``config.json`` that
                disagrees with the checkpoint (edited or swapped), or weights that do not fit.
        """
        run = Path(run_dir)
        if not run.is_dir():
            raise FileNotFoundError(f"Run directory not found: {run}")
        if not (run / "config.json").is_file():
            raise FileNotFoundError(f"{run} holds no run to resume (no config.json); start one with `advrec train`.")
        bad = sorted(set(overrides) - set(RESUME_OVERRIDES))
        if bad:
            raise ValueError(
                f"A resumed run keeps its config; only {list(RESUME_OVERRIDES)} may change, got {bad}. "
                "Start a new run (another --output-dir) to change the others."
            )
        saved = read_json_file(run / "config.json", what="the run's config.json")
        latest = ckpt.latest_checkpoint(run)
        if latest is None:  # killed before the first phase finished: start over with config.json
            config = TrainConfig.from_dict(saved, source=f"{run}/config.json")
        else:
            _check_config_matches(saved, latest, run / "config.json")
            changeable = {key: saved[key] for key in RESUME_OVERRIDES if key in saved}
            data = {**latest.state["config"], **changeable, "output_dir": str(run)}
            config = TrainConfig.from_dict(data, source=f"checkpoint {latest.path}")
        config = config.replace(output_dir=str(run), **overrides)
        return cls(config, stream=stream, _checkpoint=latest)

    def _load(self, checkpoint: ckpt.Checkpoint) -> None:
        state = checkpoint.state
        ckpt.check_weights(self.recommender, checkpoint.recommender_path, "the recommender")
        self.recommender.set_parameters(str(checkpoint.recommender_path), device=self.device)
        self.recommender.num_timesteps = int(state["timesteps"]["recommender"])
        if self.adversary is not None:
            if checkpoint.adversary_path is None:
                raise FileNotFoundError(f"Checkpoint {checkpoint.path} has no {ckpt.ADVERSARY_FILE} for this game.")
            ckpt.check_weights(self.adversary, checkpoint.adversary_path, "the adversary")
            self.adversary.set_parameters(str(checkpoint.adversary_path), device=self.device)
            self.adversary.num_timesteps = int(state["timesteps"]["adversary"])
        self.results = list(state.get("results", []))
        self.curve = list(state.get("curve", []))
        self.next_phase = checkpoint.phase + 1
        print(f"Resuming {self.run_dir} after phase {checkpoint.phase} ({state['phase_name']}).", file=self.stream)

    # ------------------------------------------------------------------ the game
    def train(self, *, evaluate: bool = True) -> list[dict[str, Any]]:
        """Run the remaining phases, then (``evaluate``) the final evaluation; returns its rows (else ``[]``).

        Holds the run directory's lock throughout and gives it back at the end, on success or error.
        """
        self._lock.acquire()
        try:
            total = sum(p.steps for p in self.plan)
            done = sum(p.steps for p in self.plan[: self.next_phase])
            bar = tqdm(total=total, initial=done, unit="step", disable=not self.config.progress_bar, file=sys.stderr)
            try:
                for phase in self.plan[self.next_phase :]:
                    bar.set_description(f"{phase.name} ({phase.index + 1}/{len(self.plan)})")
                    started = time.perf_counter()
                    self._run_phase(phase, _PhaseCallback(bar, phase.steps))
                    result = {"phase": phase.index, "round": phase.round, "player": phase.player}
                    result.update(seconds=round(time.perf_counter() - started, 2), **self._phase_eval(phase))
                    self.results.append(result)
                    self._checkpoint(phase)
                    self.next_phase = phase.index + 1
                    done += phase.steps
                    bar.n = done
                    bar.refresh()
            finally:
                bar.close()
            return self.evaluate() if evaluate else []
        finally:
            self.close()

    def _run_phase(self, phase: Phase, callback: BaseCallback) -> None:
        seed = phase_seed(self.config.seed, phase.index)
        if phase.player == "recommender":
            adversary = None if phase.round == 0 else self.adversary
            attacker = None
            if phase.round > 0:
                attacker = training_attacker(
                    self.config.defence,
                    self.recommender,
                    adversary,
                    self.budget,
                    pgd_steps=self.config.pgd_steps,
                    seed=seed,
                )
            venv = attacked_env(recommender_view(self.config), attacker, self.config.train_rho, seed=seed)
            if isinstance(self.recommender, SAPPO):
                self.recommender.reseed_regularizer([seed, 0x5A])
            model = self.recommender
            model.set_env(sb3_env(venv), force_reset=True)
            if self.config.curve_every:
                callback = CallbackList([callback, _LearningCurve(self)])
        else:
            model = self.adversary
            fit_adversary_phase(model, self.recommender, self.config, seed)
            model.set_env(adversary_env(self.config, self.recommender), force_reset=True)
        if phase.steps:
            model.set_random_seed(seed)
            model.learn(phase.steps, callback=callback, reset_num_timesteps=False)

    def curve_points(self) -> int:
        """Learning-curve points recorded so far."""
        return len(self.curve)

    def record_curve_point(self) -> None:
        """Evaluate the recommender clean on the evaluation users and append it to the learning curve."""
        episodes = self.config.curve_episodes
        view = recommender_view(self.config, num_envs=min(self.config.num_envs * 4, episodes), evaluation=True)
        report = evaluate(view, self.recommender, episodes=episodes, seed=EVAL_SEED_OFFSET + self.config.seed)
        point = {"steps": int(self.recommender.num_timesteps), **report.summary()}
        self.curve.append({k: round(v, 4) if isinstance(v, float) else v for k, v in point.items()})
        self.recommender.logger.record("curve/return", point["return_mean"])
        self.recommender.logger.dump(step=self.recommender.num_timesteps)

    def _phase_eval(self, phase: Phase) -> dict[str, float]:
        """Quick evaluation after a phase: clean return and CTR, and under the game's adversary (logged)."""
        episodes = self.config.phase_eval_episodes
        if not episodes:
            return {}
        seed = EVAL_SEED_OFFSET + self.config.seed
        view = recommender_view(self.config, num_envs=min(self.config.num_envs, episodes), evaluation=True)
        clean = evaluate_attack(view, self.recommender, None, episodes=episodes, seed=seed)
        out = {"return": clean.mean_return, "ctr": clean.ctr}
        if self.adversary is not None and phase.round > 0:
            attacker = LearnedAdversary(self.adversary, self.budget, seed=seed)
            attacker.bind(view.single_observation_space, view.unwrapped.embedding_slice)
            attacked = evaluate_attack(view, self.recommender, attacker, episodes=episodes, seed=seed)
            out.update(
                return_attacked=attacked.mean_return, ctr_attacked=attacked.ctr, success_rate=attacked.success_rate
            )
        for model in (self.recommender, self.adversary):
            if model is not None:
                for key, value in out.items():
                    model.logger.record(f"game/{key}", value)
                model.logger.record("game/round", phase.round)
                model.logger.dump(step=model.num_timesteps)
        return {key: round(float(value), 4) for key, value in out.items()}

    def _checkpoint(self, phase: Phase) -> None:
        models = {"recommender": self.recommender}
        timesteps = {"recommender": self.recommender.num_timesteps}
        if self.adversary is not None:
            models["adversary"] = self.adversary
            timesteps["adversary"] = self.adversary.num_timesteps
        state = {
            "phase": phase.index,
            "phase_name": phase.name,
            "round": phase.round,
            "player": phase.player,
            "phases_total": len(self.plan),
            "timesteps": timesteps,
            "config": self.config.to_dict(),
            "results": self.results,
            "curve": self.curve,
            # training is bit-identical for a seed at a fixed thread count; other counts reorder float sums
            "torch_threads": torch.get_num_threads(),
        }
        ckpt.write_checkpoint(self.run_dir, phase.index, state, models)
        if self.config.curve_every:
            atomic_write_json(self.run_dir / "curve.json", {"config": self.config.to_dict(), "curve": self.curve})
        ckpt.prune_checkpoints(self.run_dir, self.config.keep_checkpoints)

    # ------------------------------------------------------------------ the end
    def evaluate(self) -> list[dict[str, Any]]:
        """The final table (clean, then each of ``eval_attacks``), printed and written to evaluation.json."""
        config = self.config
        seed = EVAL_SEED_OFFSET + config.seed
        adversary, source = self.adversary, "the game's adversary"
        if "learned" in config.eval_attacks and adversary is None:
            adversary = train_best_response(self.recommender, config, config.attacker_steps, seed, self.device)
            source = f"a best response ({best_response_recipe(config, config.attacker_steps)})"
        rows = evaluate_recommender(
            self.recommender,
            config,
            list(config.eval_attacks),
            episodes=config.eval_episodes,
            seed=seed,
            adversary=adversary,
        )
        title = (
            f"{config.defence} recommender ({config.policy}), {config.eval_episodes} episodes per row, "
            f"L{config.norm} eps={config.eps:g}; learned = {source}"
        )
        print(format_table(rows, title), file=self.stream)
        atomic_write_json(self.run_dir / "evaluation.json", {"title": title, "rows": rows, "phases": self.results})
        return rows


def _check_config_matches(saved: dict[str, Any], checkpoint: ckpt.Checkpoint, path: Path) -> None:
    """Refuse a ``config.json`` that disagrees with the checkpoint's config outside :data:`RESUME_OVERRIDES`."""
    theirs = checkpoint.state["config"]
    ignored = {*RESUME_OVERRIDES, "output_dir"}
    differ = [
        key for key in sorted(set(saved) | set(theirs)) if key not in ignored and saved.get(key) != theirs.get(key)
    ]
    if differ:
        shown = "; ".join(
            f"{key}: {saved.get(key, '(absent)')!r} in config.json, {theirs.get(key, '(absent)')!r} in the checkpoint"
            for key in differ[:5]
        )
        raise ValueError(
            f"{path} does not match the run's latest checkpoint ({checkpoint.path / ckpt.STATE_FILE}), whose weights "
            f"were trained with the checkpoint's config: {shown}. config.json was edited or swapped; restore it "
            "(the checkpoint's config is in its state.json) or start a new run in another --output-dir."
        )
