"""Run a board: train every (row, seed) and score it (every attack, eps) as soon as it is trained; resume from cell files.

Every cell writes its own small file atomically (:mod:`.results`) under ``OUT/cells`` (meant to be
committed; models go to ``OUT/runs``, which git ignores), so an interrupted run loses at most the
cells in flight, and the next run, on this machine or on a fresh clone, resumes from the files:

* an **eval cell** whose file is valid for the current config is reused, never recomputed, even
  when its model's artifact is absent (a model is identified by its train spec and code commit,
  :mod:`.cells`);
* a **train cell** is computed when its file is not valid, or when some of its eval cells are to be
  computed and its artifact is absent or changed: the (row, seed) is retrained from its seeds and
  spec first (deterministic on one machine; the summary says whether the new artifact's checksum
  equals the recorded one).

A file that is partial, corrupt, stale (another config) or malformed is reported, renamed to
``<name>.<reason>-<time>`` (kept for inspection) and its cell recomputed; it is never merged into the
board. Cells computed at another code commit (:mod:`.commits`) are reused but reported (a board must
be computed at one commit; ``recompute_other_commits=True`` recomputes them at this one). With
``commit_cells=True`` every finished cell file is committed as it lands (:class:`.commits.CellCommitter`).
Cells run on an executor (:mod:`.executors`): this process, a spawn process pool, or Ray.

**Order.** Trainings run training seed by training seed (every row of seed 0, then of seed 1, ...;
the costliest rows of a seed first), and a model's eval cells are queued the moment its training
lands, ahead of every training still waiting. So the models on disk without their scores are at
most the ones in flight, a partial board holds whole (row, seed) units for its first seeds, and a
run that stops, on a machine that is then lost with its ``runs/`` folder, loses no finished training
whose scores were committed. ``stop_after_s`` makes a run start no training after that many
seconds; it still scores every model it trained, so a run sized to a machine's (or a session's)
lease ends with every finished cell in ``cells/`` and nothing trained for nothing.
"""

from __future__ import annotations

import datetime
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from benchmarks.leaderboard import cells, envs
from benchmarks.leaderboard.cells import EvalCell, TrainCell
from benchmarks.leaderboard.commits import CellCommitter, check_commit_target, code_commit
from benchmarks.leaderboard.executors import TaskQueue, make_executor
from benchmarks.leaderboard.protocol import NATURAL, BoardConfig
from benchmarks.leaderboard.results import ResultFileError, cell_code_commit, read_cell, sha256_file


@dataclass
class RunSummary:
    """What a run did, cell by cell."""

    computed: int = 0
    reused: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    set_aside: list[tuple[str, str, str]] = field(default_factory=list)
    blocked: int = 0
    #: trainings not started because ``stop_after_s`` had passed (and the eval cells waiting for them)
    deferred_train: int = 0
    deferred_eval: int = 0
    wall_s: float = 0.0
    #: (train cell key, whether the new artifact's checksum equals the recorded one) per retraining
    retrained: list[tuple[str, bool]] = field(default_factory=list)
    #: the code commits of the reused cells, with how many cells each
    reused_commits: Counter = field(default_factory=Counter)
    commit: str = ""
    git_commits: int = 0

    def lines(self, limit: int = 20) -> list[str]:
        """The summary, then up to ``limit`` set-aside files and ``limit`` failures."""
        out = [
            f"{self.computed} cells computed, {self.reused} reused from disk, {len(self.failed)} failed, "
            f"{self.blocked} blocked by a failed training, {len(self.set_aside)} bad files set aside "
            f"({self.wall_s:.1f} s)"
        ]
        if self.deferred_train:
            out.append(
                f"  stopped starting trainings at the time limit: {self.deferred_train} trainings and the "
                f"{self.deferred_eval} eval cells waiting for them are left for the next run"
            )
        if self.retrained:
            same = sum(1 for _, s in self.retrained if s)
            out.append(
                f"  {len(self.retrained)} models retrained because their artifact was absent (their eval cells "
                f"were missing); {same} reproduced the recorded artifact checksum, {len(self.retrained) - same} did not"
            )
        other = {c: n for c, n in self.reused_commits.items() if c != self.commit}
        if other:
            listed = ", ".join(f"{n} at {c[:12]}" for c, n in sorted(other.items()))
            out.append(
                f"  WARNING: reused cells computed at other code commits ({listed}; this run: {self.commit[:12]}): "
                "the report refuses a board of several commits; rerun with --recompute-other-commits"
            )
        if self.git_commits:
            out.append(f"  {self.git_commits} git commits of finished cell files")
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
    #: cells per code commit (train and eval cells), and eval cells per code commit of their model
    commits: dict[str, int] = field(default_factory=dict)
    model_commits: dict[str, int] = field(default_factory=dict)
    #: eval cells that scored an artifact whose checksum differs from the train cell's current one
    rescored_models: int = 0
    #: one per eval cell: row, train_seed, attack, eps and its wall seconds (with the adversary's training)
    eval_costs: list[dict] = field(default_factory=list)

    @property
    def all_commits(self) -> list[str]:
        """Every code commit the board's numbers come from (cells and the models they scored)."""
        return sorted(set(self.commits) | set(self.model_commits))


def run_board(
    config: BoardConfig,
    out: str | os.PathLike,
    workers: int | None = 1,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    executor: str = "process",
    commit_cells: bool = False,
    commit_interval_s: float = 300.0,
    recompute_other_commits: bool = False,
    stop_after_s: float | None = None,
) -> tuple[BoardData, RunSummary]:
    """Compute every missing cell of ``config`` under ``out`` and return the board's data.

    Args:
        config: the board.
        out: the output folder (``out/cells``: the cell files; ``out/runs``: the models). On a cluster,
            shared storage that every node sees at the same path.
        workers: processes (``"process"``; 1 runs the cells in this process) or Ray tasks in flight
            (``"ray"``; ``None``: the cluster's CPUs).
        progress: show a progress bar per stage.
        log: where messages go (default: stderr, through tqdm so the bar stays intact).
        executor: ``"process"`` or ``"ray"`` (:mod:`.executors`).
        commit_cells: ``git commit`` every finished cell file (``out`` must be under ``benchmarks/results``).
        commit_interval_s: at most one such commit per this many seconds (and one at the end).
        recompute_other_commits: recompute the cells (and retrain the models) computed at another code
            commit than this checkout's, so that the board ends up at one commit.
        stop_after_s: start no training after this many seconds (the models already trained are
            still scored); ``None``: no limit.
    """
    log = log or (lambda msg: tqdm.write(msg, file=sys.stderr))
    if stop_after_s is not None and not stop_after_s >= 0:
        raise ValueError(f"stop_after_s must be >= 0 seconds or None, got {stop_after_s!r}.")
    out = Path(out).resolve()
    committer = None
    if commit_cells:
        root = check_commit_target(out)
        committer = CellCommitter(root, f"Leaderboard {config.name}: finished cells", commit_interval_s, log)
    pool = make_executor(executor, workers)
    summary = RunSummary(commit=code_commit())
    start = time.perf_counter()
    deadline = None if stop_after_s is None else start + stop_after_s
    envs.make_vec(config.env, 1).close()  # build (or load) the catalogue once, before any worker does
    try:
        _run_cells(config, out, pool, progress, summary, log, committer, recompute_other_commits, deadline)
    finally:
        pool.close()
        if committer is not None:
            committer.flush()
            summary.git_commits = committer.commits
    summary.wall_s = time.perf_counter() - start
    return collect(config, out), summary


def _run_cells(config, out, pool, progress, summary, log, committer, recompute_other_commits, deadline) -> None:
    current = summary.commit

    def usable(doc: dict | None, *commits: str) -> bool:
        return doc is not None and not (recompute_other_commits and any(c != current for c in commits))

    train_docs: dict[TrainCell, dict | None] = {}
    for cell in train_cells(config):
        doc = _valid(cells.train_path(out, cell), "train", cells.train_spec(config, cell), summary, log)
        train_docs[cell] = doc if doc is not None and usable(doc, cell_code_commit(doc)) else None
    waiting: dict[TrainCell, list[EvalCell]] = {}  # eval cells to compute, by their model
    for cell in eval_cells(config):
        doc = _valid(cells.eval_path(out, cell), "eval", cells.eval_spec(config, cell), summary, log)
        if doc is not None and usable(doc, cell_code_commit(doc), doc["payload"]["model_commit"]):
            summary.reused += 1
            summary.reused_commits[cell_code_commit(doc)] += 1
        else:
            waiting.setdefault(TrainCell(cell.row, cell.seed), []).append(cell)
    train_todo, recorded = [], {}
    for cell, doc in train_docs.items():
        if doc is None:
            train_todo.append(cell)
        elif cell in waiting and not _artifact_intact(out, doc["payload"]):
            recorded[cell] = doc["payload"]["artifact_sha256"]
            train_todo.append(cell)
            log(
                f"leaderboard: retraining {cell.key()} (its artifact is absent or changed; some eval cells are missing)"
            )
        else:
            summary.reused += 1
            summary.reused_commits[cell_code_commit(doc)] += 1
    # seed by seed, the slowest rows of a seed first (a shorter tail); evals jump the queue (priority 0)
    train_todo.sort(key=lambda c: (config.train_seeds.index(c.seed), -_expected_cost(c.row)))
    queue, tasks = TaskQueue(), {}

    def push(task: tuple, priority: int) -> None:
        tasks[task[2].key()] = task
        queue.push(task, priority)

    for cell in train_todo:
        push(("train", config, cell, out), 1)
    pending = set(train_todo)  # trainings not finished (queued or in flight)

    def queue_evals(cell: TrainCell) -> None:
        """Queue the eval cells of a trained ``cell`` (the slowest first), or count them blocked if it has no model."""
        todo = waiting.pop(cell, [])
        doc = train_docs[cell]
        if doc is None or not _artifact_intact(out, doc["payload"]):
            summary.blocked += len(todo)
            return
        for ev in sorted(todo, key=lambda c: c.attack not in ("learned", "pa-ad")):
            push(("eval", config, ev, out, doc["payload"], cell_code_commit(doc)), 0)

    for cell in list(waiting):
        if cell not in pending:
            queue_evals(cell)

    def check_deadline() -> None:
        """Past ``deadline``, drop the trainings not started, with the eval cells waiting for them."""
        if deadline is None or time.perf_counter() < deadline:
            return
        dropped = queue.discard(lambda t: t[0] != "train")
        for task in dropped:
            pending.discard(task[2])
            del tasks[task[2].key()]
            summary.deferred_train += 1
            summary.deferred_eval += len(waiting.pop(task[2], []))
        if dropped:
            log(f"leaderboard: time limit reached; {len(dropped)} trainings not started, left for the next run")

    def after(task: tuple) -> None:
        kind, cell = task[0], task[2]
        if kind == "train":
            pending.discard(cell)
            doc = _valid(cells.train_path(out, cell), "train", cells.train_spec(config, cell), summary, log, quiet=True)
            train_docs[cell] = doc
            if doc is not None and cell in recorded:
                summary.retrained.append((cell.key(), doc["payload"]["artifact_sha256"] == recorded[cell]))
            queue_evals(cell)
        check_deadline()

    def left() -> int:  # queued or in flight, and the eval cells waiting for a training
        return len(tasks) - summary.computed - len(summary.failed) + sum(len(v) for v in waiting.values())

    check_deadline()
    _run(queue, pool, summary, log, committer, progress, tasks, after, left)


def _expected_cost(row) -> int:
    """A rough order of training cost, for scheduling only."""
    if row.defence in ("pgd", "atla", "sa"):  # attacks inside training
        return 3
    return 2 if row.entry.startswith("ppo-") or row.entry == "supervised" else int(row.info.trained)


def train_cells(config: BoardConfig) -> list[TrainCell]:
    return [TrainCell(row, seed) for row in config.rows for seed in config.train_seeds]


def eval_cells(config: BoardConfig) -> list[EvalCell]:
    """Every (row, seed, attack, eps): natural at eps 0, then each attack at each of its budgets."""
    out = []
    for row in config.rows:
        for seed in config.train_seeds:
            out.append(EvalCell(row, seed, NATURAL, 0.0))
            out += [EvalCell(row, seed, a, e) for a in config.attacks for e in config.attack_eps(a)]
    return out


def collect(config: BoardConfig, out: str | os.PathLike) -> BoardData:
    """Read every expected cell file under ``out/cells`` (no model needed); list the missing and the unusable ones."""
    out = Path(out)
    records, training, missing, problems = [], [], [], []
    commits, model_commits, shas = Counter(), Counter(), {}
    for cell in train_cells(config):
        doc = _read(cells.train_path(out, cell), "train", cells.train_spec(config, cell), cell, missing, problems)
        if doc is None:
            continue
        shas[cell] = doc["payload"]["artifact_sha256"]
        commits[cell_code_commit(doc)] += 1
        training.append({**_row_fields(cell.row, cell.seed), **doc["payload"]})
    rescored, costs = 0, []
    for cell in eval_cells(config):
        doc = _read(cells.eval_path(out, cell), "eval", cells.eval_spec(config, cell), cell, missing, problems)
        if doc is None:
            continue
        payload = doc["payload"]
        commits[cell_code_commit(doc)] += 1
        model_commits[payload["model_commit"]] += 1
        current = shas.get(TrainCell(cell.row, cell.seed))
        if current is not None and payload["artifact_sha256"] not in (None, current):
            rescored += 1
        for rec in payload["records"]:
            records.append({**_row_fields(cell.row, cell.seed), **rec, "adversary": payload["adversary"]})
        scored = any(r["applicable"] for r in payload["records"])  # an n/a cell costs nothing
        cost = {"attack": cell.attack, "eps": cell.eps, "scored": scored, "wall_s": payload["wall_s"]}
        costs.append({**_row_fields(cell.row, cell.seed), **cost})
    return BoardData(config, records, training, missing, problems, dict(commits), dict(model_commits), rescored, costs)


def _read(path: Path, kind: str, spec: dict, cell, missing: list, problems: list) -> dict | None:
    try:
        return read_cell(path, kind, spec)
    except FileNotFoundError:
        missing.append(cell.key())
    except ResultFileError as err:
        problems.append(err)
    return None


def _row_fields(row, seed: int) -> dict:
    return {"row": row.name, "entry": row.entry, "defence": row.defence, "rho": row.rho, "train_seed": seed}


def _artifact_intact(out: Path, payload: dict) -> bool:
    """Whether the train cell's artifact is on disk with the recorded checksum (trivially, when it has none)."""
    if payload["artifact"] is None:
        return True
    artifact = out / payload["artifact"]
    return artifact.is_file() and sha256_file(artifact) == payload["artifact_sha256"]


def _valid(path: Path, kind: str, spec: dict, summary: RunSummary, log, quiet: bool = False) -> dict | None:
    """The document of a valid cell file for ``spec``, else ``None`` (a bad file is reported and set aside)."""
    if not path.exists():
        return None
    try:
        return read_cell(path, kind, spec)
    except ResultFileError as err:
        if not quiet:
            _set_aside(err, summary, log)
        return None


def _set_aside(err: ResultFileError, summary: RunSummary, log) -> None:
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    target = err.path.with_name(f"{err.path.name}.{err.reason}-{stamp}")
    if err.path.exists():
        os.replace(err.path, target)
    summary.set_aside.append((str(err.path), err.reason, err.detail))
    log(f"leaderboard: {err.reason} result file {err.path} ({err.detail}); set aside as {target.name}, recomputing")


def _run(queue: TaskQueue, pool, summary: RunSummary, log, committer, progress: bool, tasks: dict, after, left) -> None:
    """Run the queue's tasks (``tasks``: every task ever queued, by key); ``after(task)`` runs on each
    result and may queue more; ``left()`` counts the cells still to come, for the progress bar."""
    if not queue:
        return
    bar = tqdm(total=left(), desc="cells", unit="cell", disable=not progress, dynamic_ncols=True)

    def crashed(task: tuple, exc: BaseException) -> tuple[str, str, float]:
        return task[2].key(), f"worker died: {type(exc).__name__}: {exc}", 0.0

    try:
        for key, error, wall in pool.map_unordered(cells.execute, queue, crashed):
            task = tasks[key]
            if error is None:
                summary.computed += 1
                if committer is not None:
                    kind, _, cell, out = task[:4]
                    committer.add(cells.train_path(out, cell) if kind == "train" else cells.eval_path(out, cell))
            else:
                summary.failed.append((key, error))
                log(f"leaderboard: FAILED {key}: {error}")
            after(task)
            bar.total = bar.n + left()
            bar.set_postfix_str(f"{key} ({wall:.1f} s)", refresh=False)
            bar.update()
    finally:
        bar.close()
