"""One module per `tui-ft` sub-command, each with `run(args) -> exit code`."""
