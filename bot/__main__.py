"""``python -m bot``: the command line (see :mod:`bot.cli`)."""

import sys

from bot.cli import main

sys.exit(main())
