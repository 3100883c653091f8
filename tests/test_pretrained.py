"""The model that ships in the package: it loads, and it reads MNIST and drawn digits."""
import numpy as np

import tinycnn as tc
from pad.handwriting import cases, sample
from tinycnn.train import evaluate


def test_shipped_model_scores_at_least_99_6_on_mnist_test(mnist):
    model = tc.pretrained()
    _, _, xte, yte = mnist
    _, _, probs = evaluate(model, xte, yte)
    acc = float(np.mean(probs[:, :10].argmax(1) == yte))  # over the ten digits, as training scores it
    assert acc >= 0.996, f"shipped model: {acc:.4%} on the 10,000 test digits"
    assert model.meta["test_accuracy"] == acc


def test_shipped_model_reads_drawn_digits_of_every_style():
    """Pad drawings at random sizes, places, slants and widths (see scripts/handwriting_check.py).

    Measured with 40 drawings per style: 97.5% overall; every style 100% but the 1 with a flag,
    42% (read as 7: MNIST has few of them). The per-style floor is low to let that known weak
    style pass; the overall floor holds the rest."""
    model = tc.pretrained()
    rng = np.random.default_rng(1)
    right = total = 0
    for digit, style in cases():
        drawings = np.stack([tc.preprocess_digit(sample(digit, style, rng).array) for _ in range(8)])
        got = model.predict_proba(drawings[:, None])[:, :10].argmax(1)
        right += int((got == digit).sum())
        total += len(got)
        assert (got == digit).mean() >= 0.25, f"{digit} ({style}) read as {got}"
    assert right / total >= 0.95
