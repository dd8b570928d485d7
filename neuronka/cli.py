"""The ``neuronka`` command."""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="neuronka", description="neuronka: train and inspect neural networks")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train a small MLP on scikit-learn's bundled digits and report accuracy")
    demo.add_argument("--epochs", type=int, default=30)
    demo.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .examples.digits_mlp import run

        run(epochs=args.epochs, seed=args.seed, verbose=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
