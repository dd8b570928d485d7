"""``python -m neuronka ...`` runs the ``neuronka`` command (neuronka/cli.py)."""
import sys

from .cli import main

sys.exit(main())
