"""Evaluations of a run on lm-eval tasks, base against tuned: the tasks, the results saved in
the run's evals/, and the forgetting alarm. Pure Python: the harness runs in engine/eval."""
