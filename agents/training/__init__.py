"""Two-player training: the config, the trainer, checkpoints, loading and the evaluation table."""

from agents.training.checkpoint import Checkpoint, find_checkpoint, latest_checkpoint, list_checkpoints
from agents.training.config import DEFENCES, TrainConfig
from agents.training.load import LoadedRun, load_players
from agents.training.report import evaluate_recommender, format_table, train_best_response
from agents.training.trainer import Phase, Trainer, phase_plan

__all__ = [
    "DEFENCES",
    "Checkpoint",
    "LoadedRun",
    "Phase",
    "TrainConfig",
    "Trainer",
    "evaluate_recommender",
    "find_checkpoint",
    "format_table",
    "latest_checkpoint",
    "list_checkpoints",
    "load_players",
    "phase_plan",
    "train_best_response",
]
