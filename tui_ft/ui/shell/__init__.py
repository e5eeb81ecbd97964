"""The app's frame: the base screen, header, dialogs, help and the widgets every screen uses."""
