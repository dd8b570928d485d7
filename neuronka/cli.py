"""The ``neuronka`` command: train, evaluate, predict, summary, export, demo, lab (see docs/cli.md,
docs/export.md, docs/lab.md).

    neuronka train --model resnet20 --dataset cifar10 --epochs 30 --out runs/r20
    neuronka train --out runs/r20 --resume
    neuronka evaluate runs/r20
    neuronka predict runs/r20 cat.jpg dog.png --top 5
    neuronka train --model resnet50 --weights imagenet --dataset cifar10 --freeze-base --out runs/r50
    neuronka predict --model resnet50 --weights imagenet tabby.jpg --top 5
    neuronka summary --model resnet50
    neuronka export runs/r20 --format onnx --out r20.onnx
    neuronka train --dataset sms-spam --model bilstm --class-weight balanced --out runs/spam
    neuronka demo
    neuronka lab list
    neuronka lab run vanishing-gradients --quick --out runs/lab/vg

Problems with what was asked (a bad option, a missing dataset or run folder) print one line,
``neuronka: error: ...``, on stderr and exit with status 2; an interrupted training exits with 130.
"""
from __future__ import annotations

import argparse
import math
import sys

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a shape like 224,224,3, received {text!r}") from None
    if not shape or any(d < 1 for d in shape):
        raise argparse.ArgumentTypeError(f"expected positive sizes like 224,224,3, received {text!r}")
    return shape


def _add_train(sub) -> None:
    p = sub.add_parser(
        "train", help="train a model in a run folder (checkpoint every epoch, report at the end)",
        description="Train an image (CIFAR) or text classifier. Options left out take the defaults of the "
                    "dataset's kind (shown in brackets: image / text). Everything lands in the run folder --out.\n"
                    "On several processes: `mpiexec -n P python -m neuronka train ...` (or srun) trains data-parallel "
                    "(docs/distributed.md):\neach process takes its shard of every epoch, --batch-size is per process, "
                    "process 0 writes the run folder.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("what to train")
    g.add_argument("--model", help="resnet20/32/44/56/110, plain20/.../110 (CIFAR nets), resnet18/34/50/101/152 "
                                   "(ImageNet nets at 32x32 input); text: lstm, gru, conv1d, bilstm, transformer "
                                   "[resnet20 / lstm]")
    g.add_argument("--dataset", help="cifar10, cifar100, sms-spam, sentiment [cifar10]")
    g.add_argument("--label-mode", choices=("fine", "coarse"), help="cifar100 labels [fine]")
    g.add_argument("--data", metavar="PATH", help="the dataset's file or folder (default: $NEURONKA_DATA, the user "
                                                  "cache, then a download / the shared folder)")
    g.add_argument("--limit-train", type=_positive_int, metavar="N", help="use the first N training samples")
    g.add_argument("--limit-test", type=_positive_int, metavar="N", help="use the first N test samples")
    g = p.add_argument_group("how to train")
    g.add_argument("--epochs", type=_positive_int, help="[10]")
    g.add_argument("--batch-size", type=_positive_int,
                   help="per process: under `mpiexec -n P` (or srun) each of the P processes takes this many "
                        "samples per step, the global batch is P times it [128 / 32]")
    g.add_argument("--optimizer", choices=("sgd", "adam", "adamw", "rmsprop"), help="[sgd / adam]")
    g.add_argument("--lr", type=_positive_float, help="peak learning rate [0.1 for sgd, 1e-3 otherwise]")
    g.add_argument("--momentum", type=_fraction, help="SGD momentum [0.9]")
    g.add_argument("--weight-decay", type=_nonnegative_float,
                   help="L2 penalty λ/2·‖W‖² on conv/dense kernels, i.e. gradient += λ·W (decoupled for adamw) "
                        "[1e-4 / 0]")
    g.add_argument("--schedule", choices=("cosine", "step", "onecycle", "constant"),
                   help="learning rate per step: cosine decay, step (÷10 at 50%% and 75%%), one-cycle, constant "
                        "[cosine / constant]")
    g.add_argument("--warmup-epochs", type=_nonnegative_int, help="linear warm-up from 0 (cosine, constant) [0]")
    g.add_argument("--label-smoothing", type=_fraction, help="[0]")
    g.add_argument("--augment", help="image augmentation: comma-separated crop[=4], flip, rotate[=15], shift[=0.1], "
                                     "brightness[=0.2], contrast[=0.2], noise[=0.03], cutout[=16], or none "
                                     "[crop,flip]")
    g.add_argument("--seed", type=int, help="seed of the weights, the shuffle, the augmentation and dropout [0]")
    g = p.add_argument_group("ImageNet-pretrained networks (transfer learning, neuronka/transfer.py)")
    g.add_argument("--weights", metavar="imagenet|PATH",
                   help="start from ImageNet weights: imagenet (Keras's ResNet50 file), a Keras .h5/.keras file "
                        "(Keras's ResNet50) or a torchvision .pth/.safetensors state dict (torchvision's layout); "
                        "the top is replaced by a new classifier [--model resnet50, adam, batch 32]")
    g.add_argument("--freeze-base", action="store_true", default=None,
                   help="train only the new classifier (the pretrained network frozen)")
    g.add_argument("--fine-tune-from", metavar="STAGE", help="train the stages from STAGE on (conv1 ... conv5) and "
                                                             "the classifier [everything]")
    g.add_argument("--image-size", type=_positive_int, metavar="N",
                   help="resize the images to N x N for the network [224]")
    g = p.add_argument_group("text models")
    g.add_argument("--max-tokens", type=_positive_int, help="vocabulary size, padding and OOV included [10000]")
    g.add_argument("--sequence-length", type=_positive_int, help="tokens per text (padded / truncated) [100]")
    g.add_argument("--embedding-dim", type=_positive_int, help="[64]")
    g.add_argument("--units", type=_positive_int, help="LSTM/GRU units or Conv1D filters [64]")
    g.add_argument("--class-weight", choices=("balanced",), help="weight class c by n / (K · n_c)")
    g.add_argument("--augment-text", metavar="SPEC", help="token noise per epoch: dropout=RATE,swap=RATE [none]")
    g = p.add_argument_group("the run")
    g.add_argument("--out", metavar="DIR", help="run folder [runs/MODEL-DATASET-TIMESTAMP]")
    g.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint "
                                                         "(same result as an uninterrupted run)")
    g.add_argument("--stop-after-epoch", type=_positive_int, metavar="N",
                   help="stop after epoch N (checkpointed), as if interrupted; continue later with --resume")
    g.add_argument("--evaluate-before", action="store_true", help="evaluate the untrained model on the test set "
                                                                  "first (a baseline)")
    g.add_argument("--verbose", type=int, choices=(0, 1, 2), help="0 silent, 1 progress bars, 2 one line per "
                                                                  "epoch [1]")


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="classification report of a run or model file on a test set")
    p.add_argument("path", metavar="RUN_OR_WEIGHTS", help="a run folder, a .keras model or a .weights.npz file")
    p.add_argument("--dataset", help="default: the run's dataset")
    p.add_argument("--data", metavar="PATH", help="the dataset's file or folder")
    p.add_argument("--label-mode", choices=("fine", "coarse"))
    p.add_argument("--limit-test", type=_positive_int, metavar="N")
    p.add_argument("--batch-size", type=_positive_int, default=256)
    p.add_argument("--model", help="the network of a .weights.npz file that has no config.json beside it")
    p.add_argument("--tta", choices=("flip",), help="test-time augmentation: average each image's probabilities "
                                                   "with its left-right mirror image's")


def _add_predict(sub) -> None:
    p = sub.add_parser("predict", help="top-k classes of images (or texts, for a text run); with --weights, "
                                       "ImageNet's top-k")
    p.add_argument("path", metavar="WEIGHTS_OR_RUN", help="a run folder, a .keras model or a .weights.npz file "
                                                          "(with --weights: the first image)")
    p.add_argument("inputs", nargs="*", metavar="IMAGE", help="image files of any size (resized to the model's "
                                                             "input); for a text run, the texts")
    p.add_argument("--weights", metavar="imagenet|PATH", help="predict ImageNet classes with these pretrained "
                                                              "weights (as for train --weights) instead of a run")
    p.add_argument("--image-size", type=_positive_int, metavar="N",
                   help="with --weights: the network's input size [224]")
    p.add_argument("--top", type=_positive_int, default=5)
    p.add_argument("--model", help="the network of a .weights.npz file that has no config.json beside it")
    p.add_argument("--dataset", help="class names for a model file without a run config [cifar10]")


def _add_summary(sub) -> None:
    p = sub.add_parser("summary", help="print a model's layers and parameter counts (model.summary())")
    p.add_argument("--model", required=True, help="a zoo model (resnet20 ... resnet152, plain20 ...) or a text "
                                                  "model (lstm, gru, conv1d, bilstm, transformer)")
    p.add_argument("--input-shape", type=_shape, help="e.g. 224,224,3 [224,224,3 for ImageNet nets, 32,32,3 for "
                                                      "CIFAR nets]")
    p.add_argument("--classes", type=_positive_int, help="[1000 for ImageNet nets, 10 for CIFAR nets, 2 for text]")
    p.add_argument("--max-tokens", type=_positive_int, default=10000)
    p.add_argument("--sequence-length", type=_positive_int, default=100)
    p.add_argument("--embedding-dim", type=_positive_int, default=64)
    p.add_argument("--units", type=_positive_int, default=64)


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="write a run's (or a .keras file's) model as an ONNX file (docs/export.md)")
    p.add_argument("path", metavar="RUN_OR_MODEL_FILE", help="a run folder, a .keras model or a .weights.npz file")
    p.add_argument("--format", choices=("onnx",), default="onnx", help="[onnx]")
    p.add_argument("--out", metavar="FILE", help="the file to write [RUN/model.onnx, or the model file's name with "
                                                 ".onnx]")
    p.add_argument("--opset", type=_positive_int, metavar="N", help="ONNX opset version [18]")
    p.add_argument("--model", help="the network of a .weights.npz file that has no config.json beside it")


def _export(args) -> None:
    from pathlib import Path  # noqa: PLC0415

    from .training import JobError, load_run  # noqa: PLC0415

    try:
        import onnx  # noqa: F401, PLC0415

        from .export import export_onnx  # noqa: PLC0415
    except ImportError:
        raise JobError("export: the `onnx` package is not installed (pip install 'neuronka[onnx]')") from None
    source = Path(args.path).expanduser()
    if args.out is not None:
        out = Path(args.out).expanduser()
    elif source.is_dir():
        out = source / "model.onnx"
    else:
        out = source.with_name(source.name.split(".")[0] + ".onnx")
    if out.is_dir():
        raise JobError(f"export: --out {out} is a folder; expected a file such as {out / 'model.onnx'}")
    if not out.parent.is_dir():
        raise JobError(f"export: the folder of --out {out} does not exist")
    model, config = load_run(source, model_name=args.model)
    metadata = {k: config[k] for k in ("kind", "normalization", "input_shape", "vocabulary_size") if k in config}
    export_onnx(model, out, opset_version=args.opset, class_names=config.get("class_names"), metadata=metadata)
    print(f"wrote {out} (ONNX, {args.format}, model {model.name!r}, {len(config.get('class_names') or [])} classes)")


def _add_lab(sub) -> None:
    p = sub.add_parser("lab", help="the notes' claims as experiments: figures, numbers, a verdict (docs/lab.md)")
    lab = p.add_subparsers(dest="lab_command", required=True)
    lab.add_parser("list", help="the experiments, one per claim of the notes")
    r = lab.add_parser("run", help="run one experiment into a run folder")
    r.add_argument("name", help="an experiment's name or claim number (see `neuronka lab list`)")
    r.add_argument("--quick", action="store_true", help="the smoke-test scale (under a minute on 2 cores)")
    r.add_argument("--out", metavar="DIR", help="run folder [runs/lab/NAME]")
    r.add_argument("--data", metavar="PATH", help="CIFAR-10 (official archive or image-folder tree) "
                                                  "[$NEURONKA_DATA, then ../shared/datasets]")
    r.add_argument("--seed", type=_nonnegative_int, default=0)


def _lab(args) -> None:
    from . import lab  # noqa: PLC0415

    if args.lab_command == "list":
        for e in lab.EXPERIMENTS.values():
            print(f"{e.number:2d}  {e.name:20s} {e.title}  [{e.data}; full mode {e.budget}]")
        return
    try:
        experiment = lab.get(args.name)
    except ValueError as e:
        from .training import JobError  # noqa: PLC0415

        raise JobError(str(e)) from None
    lab.run_experiment(experiment, out=args.out, quick=args.quick, seed=args.seed, data=args.data)


def _positive_int(text: str) -> int:
    """An argparse type: an integer ≥ 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}")
    return value


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 0, received {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 0, received {text!r}")
    return value


def _positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (learning rates)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, received {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite positive number, received {text!r}")
    return value


def _fraction(text: str) -> float:
    """An argparse type: a number in [0, 1) (momentum, label smoothing)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), received {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), received {text!r}")
    return value


def _nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 0, received {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number ≥ 0, received {text!r}")
    return value

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neuronka", description="neuronka: train and inspect neural networks")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train a small MLP on scikit-learn's bundled digits and report accuracy")
    demo.add_argument("--epochs", type=int, default=30)
    demo.add_argument("--seed", type=int, default=0)
    _add_train(sub)
    _add_evaluate(sub)
    _add_predict(sub)
    _add_summary(sub)
    _add_lab(sub)
    _add_export(sub)
    return parser


def _summary(args) -> None:
    from .applications.cifar_resnet import CIFAR_DEPTHS, MODELS  # noqa: PLC0415
    from .applications.text import TEXT_MODELS, text_classifier  # noqa: PLC0415
    from .training import JobError  # noqa: PLC0415

    name = args.model.lower().replace("-", "")
    if name in TEXT_MODELS:
        seq = args.input_shape[0] if args.input_shape else args.sequence_length
        model = text_classifier(name, args.max_tokens, seq, args.embedding_dim, args.units, args.classes or 2)
    elif name in MODELS:
        cifar = name in {f"{prefix}{d}" for prefix in ("resnet", "plain") for d in CIFAR_DEPTHS}
        shape = args.input_shape or ((32, 32, 3) if cifar else (224, 224, 3))
        model = MODELS[name](classes=args.classes or (10 if cifar else 1000), input_shape=tuple(shape))
    else:
        raise JobError(f"summary: unknown model {args.model!r}; expected one of {', '.join(sorted(MODELS))}, "
                       f"{', '.join(TEXT_MODELS)}")
    model.summary()


def _run(args) -> int:
    from . import training  # noqa: PLC0415

    if args.command == "demo":
        from .examples.digits_mlp import run  # noqa: PLC0415

        run(epochs=args.epochs, seed=args.seed, verbose=True)
    elif args.command == "train":
        options = {k: v for k, v in vars(args).items() if k != "command"}
        options["resume"] = bool(args.resume) or None
        options["evaluate_before"] = bool(args.evaluate_before) or None
        result = training.train(options)
        if result.get("status") == "stopped":
            return 0
    elif args.command == "evaluate":
        training.evaluate(args.path, dataset=args.dataset, data=args.data, limit_test=args.limit_test,
                          batch_size=args.batch_size, model_name=args.model, label_mode=args.label_mode,
                          tta=args.tta)
    elif args.command == "predict":
        if args.weights is not None:
            from .transfer import predict_imagenet  # noqa: PLC0415

            predict_imagenet(args.model, args.weights, [args.path, *args.inputs], top=args.top,
                             image_size=args.image_size)
        elif args.image_size is not None:
            raise training.JobError("predict: --image-size applies only with --weights")
        elif not args.inputs:
            raise training.JobError(f"predict: give the inputs (image files, or texts for a text run) after "
                                    f"{args.path}")
        else:
            training.predict(args.path, args.inputs, top=args.top, model_name=args.model, dataset=args.dataset)
    elif args.command == "summary":
        _summary(args)
    elif args.command == "lab":
        _lab(args)
    elif args.command == "export":
        _export(args)
    return 0


def main(argv=None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    from . import backend  # noqa: PLC0415

    backend.tune_allocator(explicit=True)  # the command owns its process (NEURONKA_MALLOC_TUNING=0 keeps it off)
    parser = build_parser()
    args = parser.parse_args(argv)
    for stream in (sys.stdout, sys.stderr):  # the summary's box drawing must not crash an ASCII terminal
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):
                pass
    from .training import JobError  # noqa: PLC0415

    try:
        return _run(args)
    except (JobError, FileNotFoundError) as e:
        if not getattr(e, "quiet", False):  # under mpiexec an error all processes share is printed by process 0
            print(f"neuronka: error: {e}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nneuronka: interrupted (a `train` run continues from its last checkpoint with --resume)",
              file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except Exception as e:  # noqa: BLE001 - the command prints one line for anything; NEURONKA_TRACEBACK=1 shows it
        return _report(e)


def _report(e: BaseException) -> int:
    """One line for an error: what a user can cause (bad files and values, a full or read-only disk, an image
    too large to decode) exits 2 or 1; anything else is reported as an internal error, with the traceback
    only when ``NEURONKA_TRACEBACK=1``."""
    import errno  # noqa: PLC0415
    import os  # noqa: PLC0415
    import traceback  # noqa: PLC0415

    if os.environ.get("NEURONKA_TRACEBACK") == "1":
        traceback.print_exc()
    message = " ".join(str(e).split()) or type(e).__name__
    if isinstance(e, OSError):
        what = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
                errno.EACCES: "permission denied", errno.EDQUOT: "the disk quota is exceeded"}.get(e.errno)
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        print(f"neuronka: error: {what or message}{where}", file=sys.stderr, flush=True)
        return 1
    if type(e).__name__ == "DecompressionBombError":
        print(f"neuronka: error: an image has more pixels than allowed: {message}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    if isinstance(e, (ValueError, TypeError, KeyError, IndexError, NotImplementedError, RecursionError,
                      MemoryError, UnicodeError, EOFError)):
        print(f"neuronka: error: {type(e).__name__ if isinstance(e, (KeyError, RecursionError)) else ''}"
              f"{': ' if isinstance(e, (KeyError, RecursionError)) else ''}{message}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    print(f"neuronka: internal error: {type(e).__name__}: {message} (NEURONKA_TRACEBACK=1 shows where; please "
          f"report it)", file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
