"""``python -m newscrawl``: the same as the ``newscrawl`` command."""

import sys

from newscrawl.cli import main

sys.exit(main())
