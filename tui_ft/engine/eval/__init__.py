"""`tui-ft eval`: a run's base and tuned models on lm-eval tasks, in the CLI's own process."""
