"""Child processes of the UI and CLI (`tui-ft … --json`, the trainer, the chat process): their
environment and how they are run."""
