"""`python -m app` is the `sagelite` command."""

from app.cli import main

main()
