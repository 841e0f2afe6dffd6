"""`python -m lingong`: the command line."""

import sys

from lingong.cli import main

sys.exit(main())
