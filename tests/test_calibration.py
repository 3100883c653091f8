"""Temperature scaling, the expected calibration error and the reader's thresholds."""
import numpy as np
import pytest

from tinycnn.digits.calibration import choose_thresholds, ece, fit_temperature, nll, split_probs


def sample_labels(logits, rng):
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    return (p.cumsum(1) > rng.random((len(p), 1))).argmax(1)


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.5])
def test_temperature_fit_recovers_a_known_temperature(true_t):
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 4, (20000, 10))
    labels = sample_labels(logits / true_t, rng)  # labels drawn from softmax(logits / T)
    t = fit_temperature(logits, labels)
    assert abs(t - true_t) < 0.06 * true_t
    assert nll(logits, labels, t) <= min(nll(logits, labels, t * 1.1), nll(logits, labels, t / 1.1))


def test_ece_by_hand():
    assert ece([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert ece([0.8] * 4, [True, False, True, False]) == pytest.approx(0.3)
    # two bins: 0.95 all right (gap 0.05), 0.55 half right (gap 0.05), weighted 2:2
    assert ece([0.95, 0.95, 0.55, 0.55], [True, True, True, False]) == pytest.approx(0.05)
    assert ece([], []) == 0.0


def test_calibrated_probabilities_are_calibrated():
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 4, (20000, 10))
    labels = sample_labels(logits / 3.0, rng)
    conf_raw, _ = split_probs(logits)
    conf_cal, _ = split_probs(logits, fit_temperature(logits, labels))
    before = ece(conf_raw.max(1), conf_raw.argmax(1) == labels)
    after = ece(conf_cal.max(1), conf_cal.argmax(1) == labels)
    assert before > 0.1 and after < 0.02


def test_split_probs_renormalises_the_digits():
    logits = np.array([[2.0] + [0.0] * 9 + [5.0]])
    probs, other = split_probs(logits)
    assert probs.shape == (1, 10) and probs.sum() == pytest.approx(1) and other[0] > 0.9
    probs, other = split_probs(logits[:, :10])
    assert other[0] == 0


def test_thresholds_follow_the_measurements():
    """Non-digits with P(not a digit) about 0.8, digits about 0.1: the cut falls between; digits
    right at 0.99 and wrong at 0.6: the unsure threshold lands above 0.6."""
    rng = np.random.default_rng(3)
    n = 400
    labels = np.r_[np.arange(n) % 10, np.full(n // 2, 10)]
    logits = np.full((len(labels), 11), -4.0)
    right = np.arange(n) % 4 != 0
    for i in range(n):
        d = labels[i] if right[i] else (labels[i] + 1) % 10
        logits[i, d] = 5.0 if right[i] else 0.5   # wrong answers are less sure
        logits[i, 10] = rng.normal(-1.5, 0.3)
    logits[n:, 10] = rng.normal(3.0, 0.3, n // 2)
    t = choose_thresholds(logits, labels)
    _, other = split_probs(logits)
    assert other[:n].max() < t["not_a_digit"] <= other[n:].min()
    probs, _ = split_probs(logits)
    wrong_top = probs[:n][~right].max(1).max()
    assert t["unsure"] > wrong_top


def test_a_flat_gain_takes_the_lowest_unsure_threshold():
    """Where naming more digits gains as much as it costs, give or take a drawing, the reader names
    the most: the lowest threshold within FLAT of the best gain, not the best by one drawing."""
    from tinycnn.digits.calibration import FLAT, WRONG_COST

    # (top probability, right?): 1,000 sure and right; at 0.75 two right and one wrong (naming them
    # gains 2 - WRONG_COST = -1, one drawing's worth); at 0.50 ten wrong (a real loss)
    cases = [(0.95, True)] * 1000 + [(0.75, True)] * 2 + [(0.75, False)] + [(0.50, False)] * 10
    logits = np.full((len(cases), 10), -30.0)
    for i, (p, right) in enumerate(cases):
        logits[i, 0 if right else 1] = np.log(p)
        logits[i, 2] = np.log(1 - p)
    labels = np.zeros(len(cases), np.int64)
    assert WRONG_COST - 2 < FLAT * 1003 < 10 * WRONG_COST  # one drawing is within the flat top, ten are not
    assert choose_thresholds(logits, labels)["unsure"] == 0.51  # the best by one drawing would be 0.76
