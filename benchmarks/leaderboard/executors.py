"""Where the board's cells run: this process, a local process pool (the default), or Ray core tasks.

Every executor runs the same top-level function (:func:`.cells.execute`) on the same task tuples and
yields each result as it finishes; the cell files themselves are written by the task, atomically, so
the only thing that has to be shared between machines is the output folder (shared storage):

* ``"process"`` (:class:`ProcessExecutor`): ``workers`` processes with the ``spawn`` start method and
  one torch and BLAS thread each (DESIGN.md, "Conventions": two workers without that ran 5-7x
  slower, and a fork after torch had started threads hung); ``workers=1`` runs in this process.
* ``"ray"`` (:class:`RayExecutor`, the optional ``[ray]`` extra, Ray core only): one task per cell
  (``num_cpus=1``), at most ``workers`` in flight (default: the cluster's CPUs). It connects to the
  cluster at ``RAY_ADDRESS`` when that is set (``ray start --head`` on one machine, ``ray start
  --address=HEAD:6379`` on the others), else starts a local Ray; a Ray that the caller already
  initialised is used as it is. Every node needs the same checkout installed (the cells record
  their code commit, so a node on other code shows up as a second commit in the report).

Both take their tasks from a :class:`TaskQueue` as slots free up, so the caller may add tasks while
results come in (the runner queues a model's eval cells as soon as its training lands, ahead of the
trainings still waiting): at most ``workers`` tasks are ever started ahead of their results.
"""

from __future__ import annotations

import heapq
import itertools
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from advrec_gym._validation import check_choice, check_int
from benchmarks.leaderboard import cells

EXECUTORS = ("process", "ray")
# Threaded BLAS on a shared 2-core machine ran LinUCB's training 6x slower; workers get one thread.
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

Task = tuple
Result = Any
OnCrash = Callable[[Task, BaseException], Result]


class TaskQueue:
    """Tasks waiting to start, lowest ``priority`` first and first in, first out within a priority.

    An executor pops a task whenever a slot is free, so tasks pushed while its results are being
    consumed start before the lower-priority ones already waiting.
    """

    def __init__(self, tasks: Iterable[Task] = (), priority: int = 0):
        self._heap: list[tuple[int, int, Task]] = []
        self._count = itertools.count()
        for task in tasks:
            self.push(task, priority)

    def push(self, task: Task, priority: int = 0) -> None:
        heapq.heappush(self._heap, (priority, next(self._count), task))

    def pop(self) -> Task:
        return heapq.heappop(self._heap)[2]

    def discard(self, keep: Callable[[Task], bool]) -> list[Task]:
        """Remove the waiting tasks for which ``keep`` is false; return them in queue order."""
        dropped = sorted(e for e in self._heap if not keep(e[2]))
        self._heap = [e for e in self._heap if keep(e[2])]
        heapq.heapify(self._heap)
        return [e[2] for e in dropped]

    def __len__(self) -> int:
        return len(self._heap)


def _as_queue(tasks: Iterable[Task] | TaskQueue) -> TaskQueue:
    return tasks if isinstance(tasks, TaskQueue) else TaskQueue(tasks)


class ProcessExecutor:
    """Run tasks in ``workers`` spawned processes (one torch thread each), or here when ``workers == 1``."""

    name = "process"

    def __init__(self, workers: int = 1):
        self.workers = check_int("workers", workers, low=1)

    def map_unordered(
        self, fn: Callable[[Task], Result], tasks: Iterable[Task] | TaskQueue, on_crash: OnCrash
    ) -> Iterator[Result]:
        """Yield ``fn(task)`` for every task as each finishes; a dead worker yields ``on_crash(task, error)``.

        ``tasks`` may be a :class:`TaskQueue` that the caller adds to while consuming the results.
        """
        queue = _as_queue(tasks)
        if self.workers == 1 or (len(queue) <= 1 and not isinstance(tasks, TaskQueue)):
            while queue:
                yield fn(queue.pop())
            return
        for name in THREAD_ENV:  # inherited by the spawned workers before they import numpy
            os.environ.setdefault(name, "1")
        ctx = multiprocessing.get_context("spawn")
        # An executor, not a Pool: a worker that dies (e.g. a main script without the
        # `if __name__ == "__main__":` guard that spawn needs) breaks it loudly instead of hanging.
        with ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=cells.init_worker) as pool:
            in_flight: dict = {}
            while queue or in_flight:
                while queue and len(in_flight) < self.workers:
                    task = queue.pop()
                    in_flight[pool.submit(fn, task)] = task
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    task = in_flight.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool as exc:
                        yield on_crash(task, exc)

    def close(self) -> None:
        pass


def _ray_task(fn: Callable[[Task], Result], task: Task) -> Result:
    cells.init_worker()
    return fn(task)


class RayExecutor:
    """Run every task as a Ray core task (``num_cpus=1``), at most ``workers`` at a time.

    Args:
        workers: tasks in flight at once (``None``: the cluster's CPUs when the run starts).
        address: the cluster to join (default: ``$RAY_ADDRESS``; unset, a local Ray is started).
    """

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None):
        try:
            import ray
        except ImportError as exc:
            raise ImportError(
                "--executor ray needs Ray core: pip install 'advrec-gym[ray]' (or pip install 'ray>=2.40')."
            ) from exc
        self.ray = ray
        self.workers = None if workers is None else check_int("workers", workers, low=1)
        self.started = False
        if not ray.is_initialized():
            address = address or os.environ.get("RAY_ADDRESS") or None
            ray.init(
                address=address,
                runtime_env={"env_vars": {name: "1" for name in THREAD_ENV}},
                include_dashboard=False,
                log_to_driver=False,
            )
            self.started = True
        self._remote = ray.remote(num_cpus=1, max_retries=0)(_ray_task)

    def map_unordered(
        self, fn: Callable[[Task], Result], tasks: Iterable[Task] | TaskQueue, on_crash: OnCrash
    ) -> Iterator[Result]:
        """Yield ``fn(task)`` for every task as each finishes; a lost task yields ``on_crash(task, error)``.

        ``tasks`` may be a :class:`TaskQueue` that the caller adds to while consuming the results.
        """
        ray = self.ray
        limit = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        queue = _as_queue(tasks)
        in_flight: dict[Any, Task] = {}
        while queue or in_flight:
            while queue and len(in_flight) < limit:
                task = queue.pop()
                in_flight[self._remote.remote(fn, task)] = task
            (ref,), _ = ray.wait(list(in_flight), num_returns=1)
            task = in_flight.pop(ref)
            try:
                yield ray.get(ref)
            except ray.exceptions.RayError as exc:  # the worker died or the task could not run
                yield on_crash(task, exc)

    def close(self) -> None:
        """Shut Ray down if this executor started it (a Ray the caller initialised stays up)."""
        if self.started:
            self.ray.shutdown()
            self.started = False


def make_executor(name: str = "process", workers: int | None = 1) -> ProcessExecutor | RayExecutor:
    """The executor called ``name`` (:data:`EXECUTORS`): ``workers`` processes, or Ray tasks in flight."""
    check_choice("executor", name, EXECUTORS)
    if name == "ray":
        return RayExecutor(workers)
    return ProcessExecutor(1 if workers is None else workers)
