"""Pure logic shared by the UI, the CLI and the engine: no torch, transformers or Textual here."""
