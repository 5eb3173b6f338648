"""`python -m host <command>`: see `python -m host --help`."""
from host.cli import main

raise SystemExit(main())
