"""Runs on disk: the run directory and its files, starting, stopping and resuming the
trainer, one trainer per run, checkpoints, health, charts and the words that describe a run."""
