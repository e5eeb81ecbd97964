"""Datasets: finding, reading, detecting the format, normalizing, previewing."""
