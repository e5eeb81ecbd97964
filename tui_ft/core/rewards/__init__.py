"""Rewards for the grpo objective: the built-in reward functions (plain Python, TRL's signature
`(prompts, completions, **row_fields) -> list[float]`) and the `rewards:` list of run.yaml that
names them or a Python file's function. A Python file is loaded in the trainer process only
(engine/train/objectives/grpo_rewards.py); nothing here imports it."""
