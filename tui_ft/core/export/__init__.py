"""Export as the UI side sees it: formats, the export child process, its report, GGUF headers and
Ollama templates."""
