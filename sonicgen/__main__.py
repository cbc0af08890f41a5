"""``python -m sonicgen``."""

from sonicgen.cli.main import main

main()
