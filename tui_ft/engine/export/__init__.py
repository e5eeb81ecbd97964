"""Export: merging, GGUF writing and checking what was written."""
