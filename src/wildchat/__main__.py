"""``python -m wildchat`` runs the CLI (for machines where the entry point is not installed)."""

from wildchat.cli.main import main

main()
