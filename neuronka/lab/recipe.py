"""Claim 10: ResNet-20 on CIFAR-10 to ≥ 91 % test accuracy in one ~90-minute run on 2 cores.

He et al. (2015) train 164 epochs (64k iterations, batch 128, lr 0.1 ÷ 10 at 32k and 48k, weight decay
1e-4, momentum 0.9, 4-pixel crop + flip) for 91.25 %. The recipe spends a time budget of 90 minutes with a
schedule that is known to converge in few epochs: one linear warm-up epoch, cosine decay from lr 0.1 to 0, SGD
momentum 0.9, weight decay 5e-4 (stronger, for the shorter run), batch 128, crop + flip, label smoothing 0.1.
The number of epochs is what the budget buys on the machine at hand: a probe run of ``PROBE_IMAGES`` training
images measures the images/s of ``neuronka train`` first, and the run takes the whole epochs whose training
steps fill 95 % of the budget (the rest goes to the per-epoch evaluations) — about 30 epochs on the AVX2 host
of 2026-12-04, 48 on the AVX-512 one of the evening. Nothing is chosen on the test split: the recipe is
fixed before the run, the test split is only evaluated (once more with each image averaged with its mirror
image, flip averaging, which the validation search below chose). A search of variants on a validation split
(``benchmarks/recipe_sweep_torch.py``, docs/lab.md) found none that does clearly better at 30 epochs, so the
recipe stayed as fixed.

The paper's own schedule runs as ``neuronka train --model resnet20 --epochs 164 --schedule step
--weight-decay 1e-4`` (``step``: ÷10 at 50 % and 75 % of the steps).
"""
from __future__ import annotations

from . import data
from .runner import Run

RECIPE = {"model": "resnet20", "dataset": "cifar10", "batch_size": 128, "optimizer": "sgd", "lr": 0.1,
          "momentum": 0.9, "weight_decay": 5e-4, "schedule": "cosine", "warmup_epochs": 1, "augment": "crop,flip",
          "label_smoothing": 0.1, "seed": 0}
BUDGET_MINUTES = 90.0
TRAIN_SHARE = 0.95  # of the budget for the training steps; the rest for the per-epoch test evaluations
TRAIN_IMAGES = 50_000
PROBE_IMAGES = 6_400  # 50 steps of the recipe's batch: the measured images/s that sets the epochs
QUICK = {"epochs": 1, "warmup_epochs": 0, "limit_train": 512, "limit_test": 256, "batch_size": 64}
QUICK_PROBE_IMAGES = 128


def epochs_for(minutes: float, images_per_second: float, images_per_epoch: int = TRAIN_IMAGES,
               share: float = TRAIN_SHARE) -> int:
    """The whole epochs whose training steps fill ``share`` of ``minutes`` at ``images_per_second`` (≥ 1)."""
    return max(1, int(minutes * 60 * share * images_per_second // images_per_epoch))


def probe_rate(run: Run, location: str, images: int) -> float:
    """images/s of ``neuronka train`` with the recipe on ``images`` training images (one epoch, its own folder)."""
    from .. import training  # noqa: PLC0415

    result = training.train({**RECIPE, "epochs": 1, "warmup_epochs": 0, "limit_train": images, "limit_test": 256,
                             "data": location, "out": str(run.out / "probe"), "verbose": 0})
    return result["train_items"] / result["train_seconds"]


def experiment(run: Run) -> None:
    from .. import training  # noqa: PLC0415

    location = data.cifar10_location(run.data_path)
    rate = probe_rate(run, location, QUICK_PROBE_IMAGES if run.quick else PROBE_IMAGES)
    epochs = epochs_for(BUDGET_MINUTES, rate)
    run.log(f"probe: {rate:.0f} images/s, so {BUDGET_MINUTES:.0f} minutes buy {epochs} epochs")
    run.record("probe_images_per_second", rate)
    run.record("budget_epochs", epochs)
    options = {**RECIPE, "epochs": epochs, **(QUICK if run.quick else {})}
    run.setting(**options, budget_minutes=BUDGET_MINUTES)
    options.update(data=location, out=str(run.out / "train"), verbose=2 if run.quick else 1)
    run.log(f"neuronka train {' '.join(f'--{k.replace(chr(95), chr(45))} {v}' for k, v in options.items())}")
    result = training.train(options)
    acc = result.get("test_accuracy")
    flip = training.evaluate(run.out / "train", limit_test=options.get("limit_test"), verbose=0, tta="flip")["accuracy"]
    run.record("test_accuracy", acc)
    run.record("test_accuracy_flip_averaged", flip)
    run.record("train_seconds", result.get("train_seconds"))
    run.record("train_run_folder", str(run.out / "train"))
    run.table("ResNet-20 on CIFAR-10", ["mode", "epochs", "train seconds", "test accuracy",
                                        "with the mirror image averaged in", "target"],
              [["quick (smoke test)" if run.quick else "full recipe", options["epochs"],
                result.get("train_seconds"), acc, flip, 0.91]])
    if run.quick:
        run.verdict("not at this budget", f"smoke test only ({options['limit_train']} images, 1 epoch: test accuracy "
                                          f"{acc:.1%}); the full recipe takes about 90 minutes.")
    else:
        run.verdict("supported" if acc is not None and acc >= 0.91 else "not at this budget",
                    f"test accuracy {acc:.2%} ({flip:.2%} with the mirror image averaged in) after "
                    f"{options['epochs']} epochs in {result.get('train_seconds', 0) / 60:.0f} min (target ≥ 91 %; "
                    f"He et al. 91.25 % after 164 epochs; measured on the JPEG copy).")
