"""tinycnn: a convolutional neural network library in NumPy and Numba."""
