"""``python -m vsae.cli``: the console tool."""

import sys

from vsae.cli import main

sys.exit(main())
