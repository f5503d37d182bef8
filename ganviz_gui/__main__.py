"""`python -m ganviz_gui` runs the same command line as the `ganviz` script."""

import sys

from ganviz_gui.cli import main

if __name__ == "__main__":
    sys.exit(main())
