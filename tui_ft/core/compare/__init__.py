"""Runs side by side (`tui-ft compare`, the app's Compare screen): pure Python."""
