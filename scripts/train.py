"""Train a CNN on MNIST: python scripts/train.py --help (the same as the tinycnn-train command)."""
import sys

from tinycnn.train import main

if __name__ == "__main__":
    sys.exit(main())
