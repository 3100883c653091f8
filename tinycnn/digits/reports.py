"""Pictures of a training run: learning curves, the confusion matrix, the misclassified digits."""
import numpy as np


def _figure_to(path, fig):
    from ..fileio import atomic_open

    with atomic_open(path) as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight")


def write_reports(out_dir, results, test_images, test_labels, probs):
    """Write curves.png, confusion.png and mistakes.png into `out_dir`.

    results: the dict train() returns; test_images: (N, 28, 28) uint8; test_labels: (N,);
    probs: (N, 10) the model's test-set probabilities.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: no window, works without a display
    import matplotlib.pyplot as plt

    hist = results["history"]
    ep = [h["epoch"] for h in hist]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    a1.plot(ep, [h["train_loss"] for h in hist], "o-", label="train")
    averaged = "val_acc_last_step" in hist[0]
    a1.plot(ep, [h["val_loss"] for h in hist], "o-", label="validation (averaged weights)" if averaged else "validation")
    a1.set(xlabel="epoch", ylabel="cross-entropy", title="Loss", yscale="log")
    a2.plot(ep, [100 * h["train_acc"] for h in hist], "o-", label="train (augmented)")
    a2.plot(ep, [100 * h["val_acc"] for h in hist], "o-",
            label="validation (averaged weights, kept)" if averaged else "validation")
    if averaged:
        a2.plot(ep, [100 * h["val_acc_last_step"] for h in hist], ".:", label="validation (last step's weights)")
    a2.axhline(100 * results["test_accuracy"], color="gray", ls="--",
               label=f"test, best epoch: {100 * results['test_accuracy']:.2f}%")
    a2.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for a in (a1, a2):
        a.grid(alpha=0.3)
        a.legend()
    _figure_to(out_dir / "curves.png", fig)
    plt.close(fig)

    cm = np.asarray(results["confusion"])
    fig, ax = plt.subplots(figsize=(6.5, 6))
    off = cm.astype(float)
    np.fill_diagonal(off, np.nan)  # colour the errors; the diagonal would swamp the scale
    ax.imshow(off, cmap="Reds")
    for i in range(10):
        for j in range(10):
            ax.text(j, i, cm[i, j], ha="center", va="center", fontsize=8,
                    color="black" if i != j else "tab:blue", weight="bold" if i == j else None)
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="true",
           title=f"Confusion on the {cm.sum():,} test digits ({cm.sum() - cm.trace()} errors)")
    _figure_to(out_dir / "confusion.png", fig)
    plt.close(fig)

    pred = probs.argmax(1)
    wrong = np.flatnonzero(pred != test_labels)
    wrong = wrong[np.argsort(-probs[wrong, pred[wrong]])][:60]  # the most confident mistakes first
    cols = 10
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.35, rows * 1.65), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong):
        top = np.argsort(-probs[i])[:3]
        ax.imshow(test_images[i], cmap="gray")
        ax.set_title(f"true {test_labels[i]}\n" + " ".join(f"{d}:{probs[i, d]:.0%}" for d in top), fontsize=7)
    fig.suptitle(f"Misclassified test digits ({len(np.flatnonzero(pred != test_labels))} in all; "
                 "true label, then top-3 predictions)", fontsize=9)
    _figure_to(out_dir / "mistakes.png", fig)
    plt.close(fig)
