"""The export screen and its result."""
