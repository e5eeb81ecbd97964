"""The wizard's choices as plain data: choices offered, presets, the settings form's fields."""
