"""The Evaluate screen: base and tuned on lm-eval tasks, and the forgetting alarm."""
