"""The Textual app. Talks to tui_ft.core and to processes, never to tui_ft.engine."""
