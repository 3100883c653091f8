"""Named networks for MNIST-sized input, (N, 1, 28, 28) in [0, 1]."""
from ..layers import BatchNorm1D, BatchNorm2D, Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Residual
from ..model import Sequential


def seed_net(classes=10):
    """The classic small CNN: Conv32-Pool-Conv64-Pool-Dense128-Dropout-classes (225k parameters)."""
    return Sequential(
        Conv2D(1, 32, 3), ReLU(), MaxPool2D(2),
        Conv2D(32, 64, 3), ReLU(), MaxPool2D(2),
        Flatten(), Dense(1600, 128), ReLU(), Dropout(0.5), Dense(128, classes))


def _conv_bn(c_in, c_out):
    return [Conv2D(c_in, c_out, 3, padding=1), BatchNorm2D(c_out)]


def resnet_net(classes=10):
    """The default: batch norm throughout and a residual block at 7x7 (about 15 MFLOP per image).

    28 -conv32-> 28 -pool-> 14 -conv64-> 14 -pool-> 7 -residual(conv64, conv64)-> 7 -pool-> 3
    -dense128-> classes (10 digits, or 11 with "not a digit"). The cheap first stages find
    strokes; the residual block, where the map is
    small, does most of the work at a quarter of the cost it would have at 14x14.
    """
    return Sequential(
        *_conv_bn(1, 32), ReLU(), MaxPool2D(2),
        *_conv_bn(32, 64), ReLU(), MaxPool2D(2),
        Residual(*_conv_bn(64, 64), ReLU(), *_conv_bn(64, 64)), ReLU(), MaxPool2D(2),
        Flatten(), Dense(64 * 3 * 3, 128), BatchNorm1D(128), ReLU(), Dropout(0.25), Dense(128, classes))


ARCHITECTURES = {"resnet": resnet_net, "seed": seed_net}
