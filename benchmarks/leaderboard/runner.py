"""Run a board: train every (row, seed), then score every (row, seed, attack, eps), resuming from disk.

Every cell writes its own result file atomically (:mod:`.results`), so an interrupted run loses at
most the cells in flight: the next run reads each expected file and skips the cell when the file is
valid for the current config. A file that is partial, corrupt, stale (another config) or malformed
is reported, renamed to ``<name>.<reason>-<time>`` (kept for inspection) and its cell recomputed; it
is never merged into the board. ``workers > 1`` runs cells in a process pool with the ``spawn``
start method and one torch (and BLAS) thread per worker (../shared/DESIGN.md, "Conventions"); as
always with ``spawn``, a script that calls :func:`run_board` needs an ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import datetime
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from advrec_gym._validation import check_int
from benchmarks.leaderboard import cells, envs
from benchmarks.leaderboard.cells import EvalCell, TrainCell
from benchmarks.leaderboard.protocol import NATURAL, BoardConfig
from benchmarks.leaderboard.results import ResultFileError, read_cell, sha256_file

# Threaded BLAS on a shared 2-core machine ran LinUCB's training 6x slower; workers get one thread.
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass
class RunSummary:
    """What a run did, cell by cell."""

    computed: int = 0
    reused: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    set_aside: list[tuple[str, str, str]] = field(default_factory=list)
    blocked: int = 0
    wall_s: float = 0.0

    def lines(self, limit: int = 20) -> list[str]:
        """The summary, then up to ``limit`` set-aside files and ``limit`` failures."""
        out = [
            f"{self.computed} cells computed, {self.reused} reused from disk, {len(self.failed)} failed, "
            f"{self.blocked} blocked by a failed training, {len(self.set_aside)} bad files set aside "
            f"({self.wall_s:.1f} s)"
        ]
        out += [f"  set aside {path}: {reason} ({detail})" for path, reason, detail in self.set_aside[:limit]]
        out += [f"  FAILED {key}: {error}" for key, error in self.failed[:limit]]
        hidden = max(len(self.set_aside) - limit, 0) + max(len(self.failed) - limit, 0)
        return out + ([f"  ... and {hidden} more"] if hidden else [])


@dataclass
class BoardData:
    """Everything a report is made from: the evaluation records, the training costs, and the gaps."""

    config: BoardConfig
    records: list[dict]
    training: list[dict]
    missing: list[str]
    problems: list[ResultFileError]
    commits: list[str]


def run_board(
    config: BoardConfig,
    out: str | os.PathLike,
    workers: int = 1,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> tuple[BoardData, RunSummary]:
    """Compute every missing cell of ``config`` under ``out/runs`` and return the board's data.

    Args:
        config: the board.
        out: the output folder; cell files go to ``out/runs``.
        workers: processes (1 runs the cells in this process).
        progress: show a progress bar per stage.
        log: where messages go (default: stderr, through tqdm so the bar stays intact).
    """
    workers = check_int("workers", workers, low=1)
    log = log or (lambda msg: tqdm.write(msg, file=sys.stderr))
    runs = Path(out) / "runs"
    summary = RunSummary()
    start = time.perf_counter()
    envs.make_vec(config.env, 1).close()  # build (or load) the catalogue once, before any worker does

    train_todo, trained = [], {}
    for cell in train_cells(config):
        payload = _valid_train(config, cell, runs, summary, log)
        if payload is False:
            train_todo.append(("train", config, cell, runs))
        else:
            trained[cell] = payload
            summary.reused += 1
    train_todo.sort(key=lambda t: _expected_cost(t[2].row), reverse=True)  # the slowest first: a shorter tail
    _run(train_todo, workers, "train", progress, summary, log)
    for cell in train_cells(config):
        if cell not in trained:
            payload = _valid_train(config, cell, runs, summary, log, quiet=True)
            if payload is not False:
                trained[cell] = payload

    eval_todo = []
    for cell in eval_cells(config):
        train_cell = TrainCell(cell.row, cell.seed)
        if train_cell not in trained:
            summary.blocked += 1
            continue
        path = cells.eval_path(runs, cell)
        spec = cells.eval_spec(config, cell, trained[train_cell]["artifact_sha256"])
        if _check(path, "eval", spec, summary, log):
            summary.reused += 1
        else:
            eval_todo.append(("eval", config, cell, runs, trained[train_cell]))
    eval_todo.sort(key=lambda t: t[2].attack != "learned")  # the slowest cells first
    _run(eval_todo, workers, "evaluate", progress, summary, log)
    summary.wall_s = time.perf_counter() - start
    return collect(config, out), summary


def _expected_cost(row) -> int:
    """A rough order of training cost, for scheduling only."""
    if row.defence in ("pgd", "atla"):
        return 3
    return 2 if row.entry.startswith("ppo-") or row.entry == "supervised" else int(row.info.trained)


def train_cells(config: BoardConfig) -> list[TrainCell]:
    return [TrainCell(row, seed) for row in config.rows for seed in config.train_seeds]


def eval_cells(config: BoardConfig) -> list[EvalCell]:
    """Every (row, seed, attack, eps): natural at eps 0, then each attack at each eps of the grid."""
    out = []
    for row in config.rows:
        for seed in config.train_seeds:
            out.append(EvalCell(row, seed, NATURAL, 0.0))
            out += [EvalCell(row, seed, a, e) for a in config.attacks for e in config.eps_grid]
    return out


def collect(config: BoardConfig, out: str | os.PathLike) -> BoardData:
    """Read every expected cell file under ``out/runs``; list the missing and the unusable ones."""
    runs = Path(out) / "runs"
    records, training, missing, problems, commits = [], [], [], [], set()
    shas = {}
    for cell in train_cells(config):
        path = cells.train_path(runs, cell)
        try:
            doc = read_cell(path, "train", cells.train_spec(config, cell))
            _check_artifact(runs, doc["payload"], path)
        except FileNotFoundError:
            missing.append(cell.key())
            continue
        except ResultFileError as err:
            problems.append(err)
            continue
        shas[cell] = doc["payload"]["artifact_sha256"]
        commits.add(doc["provenance"]["commit"])
        training.append({**_row_fields(cell.row, cell.seed), **doc["payload"]})
    for cell in eval_cells(config):
        train_cell = TrainCell(cell.row, cell.seed)
        if train_cell not in shas:
            missing.append(cell.key())
            continue
        path = cells.eval_path(runs, cell)
        try:
            doc = read_cell(path, "eval", cells.eval_spec(config, cell, shas[train_cell]))
        except FileNotFoundError:
            missing.append(cell.key())
            continue
        except ResultFileError as err:
            problems.append(err)
            continue
        commits.add(doc["provenance"]["commit"])
        for rec in doc["payload"]["records"]:
            records.append({**_row_fields(cell.row, cell.seed), **rec, "adversary": doc["payload"]["adversary"]})
    return BoardData(config, records, training, missing, problems, sorted(commits))


def _row_fields(row, seed: int) -> dict:
    return {"row": row.name, "entry": row.entry, "defence": row.defence, "rho": row.rho, "train_seed": seed}


def _check_artifact(runs: Path, payload: dict, cell_file: Path) -> None:
    if payload["artifact"] is None:
        return
    artifact = runs / payload["artifact"]
    if not artifact.is_file():
        raise ResultFileError(cell_file, "invalid", f"its artifact {artifact} is missing")
    if sha256_file(artifact) != payload["artifact_sha256"]:
        raise ResultFileError(cell_file, "corrupt", f"its artifact {artifact} changed after training")


def _valid_train(config, cell, runs, summary, log, quiet: bool = False):
    """The payload of a valid train file whose artifact is intact, else ``False``."""
    path = cells.train_path(runs, cell)
    if not _check(path, "train", cells.train_spec(config, cell), summary, log, quiet):
        return False
    payload = read_cell(path, "train", cells.train_spec(config, cell))["payload"]
    try:
        _check_artifact(runs, payload, path)
    except ResultFileError as err:
        if not quiet:
            _set_aside(err, summary, log)
        return False
    return payload


def _check(path: Path, kind: str, spec: dict, summary: RunSummary, log, quiet: bool = False) -> bool:
    """True when ``path`` is a valid result for ``spec``; a bad file is reported and set aside."""
    if not path.exists():
        return False
    try:
        read_cell(path, kind, spec)
    except ResultFileError as err:
        if not quiet:
            _set_aside(err, summary, log)
        return False
    return True


def _set_aside(err: ResultFileError, summary: RunSummary, log) -> None:
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    target = err.path.with_name(f"{err.path.name}.{err.reason}-{stamp}")
    if err.path.exists():
        os.replace(err.path, target)
    summary.set_aside.append((str(err.path), err.reason, err.detail))
    log(f"leaderboard: {err.reason} result file {err.path} ({err.detail}); set aside as {target.name}, recomputing")


def _run(tasks: list[tuple], workers: int, stage: str, progress: bool, summary: RunSummary, log) -> None:
    if not tasks:
        return
    bar = tqdm(total=len(tasks), desc=stage, unit="cell", disable=not progress, dynamic_ncols=True)

    def done(result: tuple[str, str | None, float]) -> None:
        key, error, wall = result
        if error is None:
            summary.computed += 1
        else:
            summary.failed.append((key, error))
            log(f"leaderboard: FAILED {key}: {error}")
        bar.set_postfix_str(f"{key} ({wall:.1f} s)", refresh=False)
        bar.update()

    try:
        if workers == 1 or len(tasks) == 1:
            for task in tasks:
                done(cells.execute(task))
        else:
            for name in THREAD_ENV:  # inherited by the spawned workers before they import numpy
                os.environ.setdefault(name, "1")
            ctx = multiprocessing.get_context("spawn")
            # An executor, not a Pool: a worker that dies (e.g. a main script without the
            # `if __name__ == "__main__":` guard that spawn needs) breaks it loudly instead of hanging.
            with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=ctx, initializer=cells.init_worker) as pool:
                futures = {pool.submit(cells.execute, task): task for task in tasks}
                for future in as_completed(futures):
                    try:
                        done(future.result())
                    except BrokenProcessPool as exc:
                        done((futures[future][2].key(), f"worker process died: {exc}", 0.0))
    finally:
        bar.close()
