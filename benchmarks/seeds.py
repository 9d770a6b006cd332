"""The seed of the users the v1 benchmark scripts report on, in one place so that their tables share users."""

#: the evaluation users of the v1 tables (benchmarks/v1_dynamics.py, the text track): never a
#: training seed (training runs evaluate on 10000 + seed), never an attacker's probe stream
EVAL_SEED = 20_000
