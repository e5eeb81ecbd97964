"""The trainer process: setup, the training loop's callbacks, probes, status, ledger and failures."""
