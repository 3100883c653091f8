"""A convolutional network from scratch in one file, NumPy only: what tinycnn does, with
nothing in between. Read it top to bottom; run it to train one epoch on MNIST.

    python examples/cnn_from_scratch.py [MNIST_FOLDER]

The network: conv 3x3 (1 -> 8 channels) -> ReLU -> max-pool 2x2 -> dense (8*13*13 -> 10),
trained with softmax cross-entropy and Adam. Shapes are NCHW, float32, and conv weights are
(out, in, kh, kw), as in PyTorch and tinycnn. tests/test_examples.py checks that the first
step's gradients equal tinycnn's (NumPy backend) for the same weights and batch.
"""
import gzip
import os
import sys
import time

import numpy as np


# ---- convolution by im2col ---------------------------------------------------------------------

def im2col(x, k):
    """x: (N, C, H, W) -> cols: (C*k*k, N*Ho*Wo), one column per k x k patch (stride 1, no padding).

    Row (c, i, j) of the result holds pixel (c, y+i, x+j) of every patch (n, y, x), so that the
    convolution becomes one matrix product: W.reshape(F, C*k*k) @ cols."""
    N, C, H, W = x.shape
    Ho, Wo = H - k + 1, W - k + 1
    cols = np.empty((C, k, k, N, Ho, Wo), x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, i, j] = x[:, :, i:i + Ho, j:j + Wo].transpose(1, 0, 2, 3)
    return cols.reshape(C * k * k, N * Ho * Wo)


def col2im(dcols, x_shape, k):
    """The reverse of im2col for gradients: each column's values are added back onto the pixels
    they were copied from. dcols: (C*k*k, N*Ho*Wo) -> dx: (N, C, H, W)."""
    N, C, H, W = x_shape
    Ho, Wo = H - k + 1, W - k + 1
    d = dcols.reshape(C, k, k, N, Ho, Wo)
    dx = np.zeros((C, N, H, W), dcols.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, :, i:i + Ho, j:j + Wo] += d[:, i, j]
    return dx.transpose(1, 0, 2, 3)


def conv_forward(x, W, b):
    """x: (N, C, H, W), W: (F, C, k, k), b: (F,) -> y: (N, F, Ho, Wo), and what backward needs."""
    F, _, k, _ = W.shape
    N, _, H, Wd = x.shape
    cols = im2col(x, k)
    out = W.reshape(F, -1) @ cols + b[:, None]                  # (F, N*Ho*Wo)
    y = out.reshape(F, N, H - k + 1, Wd - k + 1).transpose(1, 0, 2, 3)
    return y, (x.shape, cols)


def conv_backward(dy, W, cache):
    """dy: (N, F, Ho, Wo) -> (dx, dW, db)."""
    x_shape, cols = cache
    F, _, k, _ = W.shape
    dy2 = dy.transpose(1, 0, 2, 3).reshape(F, -1)               # (F, N*Ho*Wo)
    dW = (dy2 @ cols.T).reshape(W.shape)                        # each weight met every patch
    db = dy2.sum(axis=1)
    dx = col2im(W.reshape(F, -1).T @ dy2, x_shape, k)
    return dx, dW, db


# ---- ReLU, max-pool, dense -----------------------------------------------------------------------

def relu_forward(x):
    y = np.maximum(x, 0)
    return y, y


def relu_backward(dy, y):
    return dy * (y > 0)                                         # the gradient passes where x was > 0


def maxpool_forward(x):
    """2x2 windows, stride 2: x: (N, C, H, W) -> (N, C, H//2, W//2), by reshaping each window
    onto its own axes; keeps a mask of where each window's maximum was."""
    N, C, H, W = x.shape
    w = x[:, :, :H // 2 * 2, :W // 2 * 2].reshape(N, C, H // 2, 2, W // 2, 2)
    y = w.max(axis=(3, 5))
    flat = w.transpose(0, 1, 2, 4, 3, 5).reshape(N, C, H // 2, W // 2, 4)
    first = np.eye(4, dtype=x.dtype)[flat.argmax(axis=-1)]      # one winner per window, as tinycnn
    return y, (x.shape, first)


def maxpool_backward(dy, cache):
    """Each window's gradient goes to the one input that was its maximum."""
    (N, C, H, W), first = cache
    d = (first * dy[..., None]).reshape(N, C, H // 2, W // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    dx = np.zeros((N, C, H, W), dy.dtype)
    dx[:, :, :H // 2 * 2, :W // 2 * 2] = d.reshape(N, C, H // 2 * 2, W // 2 * 2)
    return dx


def dense_forward(x, W, b):
    """x: (N, D), W: (D, M), b: (M,) -> (N, M)."""
    return x @ W + b, x


def dense_backward(dy, W, x):
    return dy @ W.T, x.T @ dy, dy.sum(axis=0)                   # dx, dW, db


# ---- loss and optimiser --------------------------------------------------------------------------

def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of softmax(logits) against integer labels, and d loss / d logits."""
    z = logits - logits.max(axis=1, keepdims=True)              # exp never overflows
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    N = len(labels)
    loss = -log_p[np.arange(N), labels].mean()
    dlogits = np.exp(log_p)
    dlogits[np.arange(N), labels] -= 1                          # softmax minus the one-hot target
    return float(loss), (dlogits / N).astype(logits.dtype)


class Adam:
    """m and v: running means of the gradient and of its square, corrected for starting at 0."""

    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.params, self.lr, self.b1, self.b2, self.eps, self.t = params, lr, b1, b2, eps, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, grads):
        self.t += 1
        for k, p in self.params.items():
            g = grads[k]
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * g * g
            m_hat, v_hat = self.m[k] / (1 - self.b1 ** self.t), self.v[k] / (1 - self.b2 ** self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


# ---- the network ---------------------------------------------------------------------------------

def init_params(seed=0):
    """He-normal weights (variance 2 / fan-in keeps ReLU activations' scale), zero biases."""
    rng = np.random.default_rng(seed)
    return {"conv.W": (rng.standard_normal((8, 1, 3, 3)) * np.sqrt(2 / 9)).astype(np.float32),
            "conv.b": np.zeros(8, np.float32),
            "dense.W": (rng.standard_normal((8 * 13 * 13, 10)) * np.sqrt(2 / (8 * 13 * 13))).astype(np.float32),
            "dense.b": np.zeros(10, np.float32)}


def loss_and_grads(params, x, labels):
    """One forward and one backward: x (N, 1, 28, 28) float32, labels (N,) -> (loss, grads)."""
    h, conv = conv_forward(x, params["conv.W"], params["conv.b"])
    h, relu = relu_forward(h)
    h, pool = maxpool_forward(h)
    flat = h.reshape(len(x), -1)
    logits, dense = dense_forward(flat, params["dense.W"], params["dense.b"])
    loss, d = softmax_cross_entropy(logits, labels)
    grads = {}
    d, grads["dense.W"], grads["dense.b"] = dense_backward(d, params["dense.W"], dense)
    d = maxpool_backward(d.reshape(h.shape), pool)
    d = relu_backward(d, relu)
    _, grads["conv.W"], grads["conv.b"] = conv_backward(d, params["conv.W"], conv)
    return loss, grads


def load_idx(path):
    """An MNIST IDX file (gzipped or not) as a uint8 array: magic 0x0000080D, then the sizes."""
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def main(folder):
    images = load_idx(os.path.join(folder, "train-images-idx3-ubyte.gz"))
    labels = load_idx(os.path.join(folder, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    x_all = (images.astype(np.float32) / 255)[:, None]
    params = init_params()
    opt = Adam(params)
    order = np.random.default_rng(0).permutation(len(x_all))
    start, batch = time.time(), 64
    for s in range(len(order) // batch):
        idx = order[s * batch:(s + 1) * batch]
        loss, grads = loss_and_grads(params, x_all[idx], labels[idx])
        opt.step(grads)
        if s % 100 == 0:
            print(f"step {s:4d}  loss {loss:.3f}  {time.time() - start:.0f} s", flush=True)
    test_x = (load_idx(os.path.join(folder, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255)[:, None]
    test_y = load_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"))
    right = 0
    for i in range(0, len(test_x), 500):
        h = maxpool_forward(relu_forward(conv_forward(test_x[i:i + 500], params["conv.W"], params["conv.b"])[0])[0])[0]
        logits = dense_forward(h.reshape(len(h), -1), params["dense.W"], params["dense.b"])[0]
        right += int((logits.argmax(1) == test_y[i:i + 500]).sum())
    print(f"test accuracy after one epoch: {right / len(test_x):.2%}")


if __name__ == "__main__":
    default = os.path.join(os.environ.get("TINYCNN_DATA") or os.path.expanduser("~/.local/share/tinycnn"), "mnist")
    main(sys.argv[1] if len(sys.argv) > 1 else default)
