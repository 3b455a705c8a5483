"""``python -m vsae.cli``: the console tool."""

import sys

from . import main

sys.exit(main())
