"""python -m tinycnn.data fetch [--from DIR] [--dest DIR]"""
import sys

from .mnist import main

if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0] != "fetch":
        print("usage: python -m tinycnn.data fetch [--from DIR] [--dest DIR]", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(args[1:]))
