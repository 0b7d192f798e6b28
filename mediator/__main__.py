"""``python -m mediator`` runs the command-line interface."""

from mediator.cli import main

main()
