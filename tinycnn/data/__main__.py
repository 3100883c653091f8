"""python -m tinycnn.data fetch [mnist|unipen] [--from DIR] [--dest DIR]

`fetch` alone fetches MNIST, as it did before there was more than one data set.
"""
import sys

USAGE = "usage: python -m tinycnn.data fetch [mnist|unipen] [--from DIR] [--dest DIR]"


def main(argv=None):
    """Dispatch `fetch NAME ...` to that data set's command line; returns the exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] != "fetch":
        print(USAGE, file=sys.stderr)
        return 2
    rest = args[1:]
    name = "mnist" if not rest or rest[0].startswith("-") else rest.pop(0)
    if name == "mnist":
        from .mnist import main as fetch_main
    elif name == "unipen":
        from .unipen import main as fetch_main
    else:
        print(f"error: no data set called {name!r}; known: mnist, unipen", file=sys.stderr)
        return 2
    return fetch_main(rest)


if __name__ == "__main__":
    sys.exit(main())
