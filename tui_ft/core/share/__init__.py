"""Sharing a run's model: its model card, pushing it to the Hugging Face Hub.

What can be shared, by `tui-ft push --what`: the adapter (LoRA, QLoRA runs), the merged model,
or the GGUF export. Named here so the CLI's parser lists them without loading the rest."""

WHATS = ("adapter", "merged", "gguf")
