"""Pieces of the text-track benchmark (``benchmarks/text_track.py``): victims, rollouts, statistics."""
