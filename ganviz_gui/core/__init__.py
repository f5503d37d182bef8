"""The GANViz engine: pure torch + numpy, no Qt.

The GUI, the command line and the tests all drive this package. Nothing here may import
PySide6 or pyqtgraph (tests/core/test_no_qt.py enforces it).
"""
