"""Train a CNN on MNIST: python scripts/train.py --help (the same as the tinycnn-train command)."""
from tinycnn.digits.train import command

if __name__ == "__main__":
    command()
