"""Fetch the MNIST IDX files, verified by SHA-256: an alias of `python -m tinycnn.data fetch mnist`.

    python scripts/fetch_mnist.py                  # from the public mirrors
    python scripts/fetch_mnist.py --from DIR       # from a local folder (no internet)

They go into tinycnn.data.paths.data_root() / "mnist" (or --dest DIR).
"""
import sys

from tinycnn.data.mnist import main

if __name__ == "__main__":
    sys.exit(main())
