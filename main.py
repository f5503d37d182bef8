"""GANViz launcher: `python main.py [COMMAND ...]`, the same as the `ganviz` command.

PyInstaller builds the double-click application from this file.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # first, for frozen builds that spawn processes
    from ganviz_gui.cli import main

    sys.exit(main())
