"""The robustness leaderboard: protocol, cells, executors, statistics, aggregation, report and figure.

``advrec leaderboard [--quick] [--workers N] [--executor process|ray] [--out DIR]`` rebuilds it. In Python::

    from benchmarks.leaderboard import protocol, run_board, aggregate, write_report

    config = protocol.quick()
    data, summary = run_board(config, "benchmarks/results/quick", workers=2)
    table = aggregate(data.records, data.training, config)
    write_report(data, table, "benchmarks/results/quick", command="...")

Modules: :mod:`.protocol` (the typed grid and its presets), :mod:`.envs` (the env and the seeds),
:mod:`.entries` (training, loading and attacking each entry; the adapters to the other packages),
:mod:`.cells` (the units of work), :mod:`.scoring` (the one call of the evaluator, per-episode keys),
:mod:`.results` (checked result files), :mod:`.commits` (code commits, committing cells),
:mod:`.executors` (process pool or Ray), :mod:`.runner`, :mod:`.stats`, :mod:`.aggregate`,
:mod:`.report` and :mod:`.figures`.
"""

from benchmarks.leaderboard.aggregate import aggregate
from benchmarks.leaderboard.protocol import BoardConfig, Row
from benchmarks.leaderboard.report import write_report
from benchmarks.leaderboard.runner import collect, run_board

__all__ = ["BoardConfig", "Row", "aggregate", "collect", "run_board", "write_report"]
