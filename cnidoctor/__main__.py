"""`python -m cnidoctor`."""

from cnidoctor.cli.app import main

main()
