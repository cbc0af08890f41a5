"""``python -m sonicgen``."""

from sonicgen.cli.main import main

if __name__ == "__main__":  # not when a worker process starts from this module
    main()
