"""`python -m improve` runs the command line."""

from improve.cli.app import main

main()
