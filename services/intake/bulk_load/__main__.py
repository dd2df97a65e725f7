"""`python -m services.intake.bulk_load FILE ...` (see the package's documentation)."""

import sys

from services.intake.bulk_load.cli import main

sys.exit(main())
