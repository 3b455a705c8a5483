"""Qt panels (through qtpy: PySide6, or PySide2 in older Nuke). Importing this package needs a Qt binding."""
