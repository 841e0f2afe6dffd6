"""`python -m adapters.stores project|report ...`: the stores' subcommands without the main CLI."""

import sys

from adapters.stores.cli import main

sys.exit(main())
