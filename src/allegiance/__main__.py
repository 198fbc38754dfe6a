"""``python -m allegiance`` runs the CLI."""

from allegiance.cli import main

main()
