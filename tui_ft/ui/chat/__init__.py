"""The A/B chat screen, its panes, settings, placement and quick eval."""
