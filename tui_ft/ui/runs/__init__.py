"""The runs list and the live monitor with its charts, health line and probe answers."""
