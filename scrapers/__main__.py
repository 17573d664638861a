"""``python -m scrapers``: see :mod:`scrapers.cli`."""

from scrapers.cli import main

raise SystemExit(main())
