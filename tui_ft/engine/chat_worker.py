"""The chat process's old module name, kept for job scripts (engine/chat/worker.py)."""

from tui_ft.engine.chat.worker import main

if __name__ == "__main__":
    raise SystemExit(main())
