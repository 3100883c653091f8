"""Fetch the MNIST IDX files into data/mnist, verified by SHA-256.

    python scripts/fetch_mnist.py                  # from the public mirrors
    python scripts/fetch_mnist.py --from DIR       # from a local folder (no internet)
"""
import sys

from tinycnn.data.mnist import main

if __name__ == "__main__":
    sys.exit(main())
