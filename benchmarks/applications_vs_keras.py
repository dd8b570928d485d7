"""Every ``keras.applications`` constructor in neuronka against real Keras: parameters, weights both ways, speed.

    python benchmarks/applications_vs_keras.py                   # all 40, each at its default input size
    python benchmarks/applications_vs_keras.py --only ResNet50,MobileNetV3Small --size 128
    python benchmarks/applications_vs_keras.py --markdown docs/applications.md

Per application (``weights=None``, ``classifier_activation=None`` so the outputs are logits, not probabilities
that hide differences): Keras 3.15.1 (``KERAS_BACKEND=torch``) builds it with its random initialization;
- *params*: the parameter count of each (they must be equal);
- *Keras → neuronka*: Keras writes ``.weights.h5``, neuronka's model loads it; the largest difference of the
  logits relative to their largest magnitude (max|Δ| / max|Keras's|) on the same image (uniform in
  [0, 255], through each family's ``preprocess_input``);
- *neuronka → Keras*: neuronka writes ``.weights.h5``, a fresh Keras model loads it; the same difference;
- *predict, batch 1*: the median over ``--repeats`` calls after one warm-up of ``model(x)`` (Keras under
  ``torch.no_grad``) and ``model.predict_on_batch(x)`` (neuronka), at the same thread count (``--threads``,
  set before NumPy and torch load), and their ratio Keras time / neuronka time (> 1: neuronka faster).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", help="comma-separated constructor names")
    p.add_argument("--size", type=int, help="input size for every model (default: each model's own)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--markdown", help="also write the table to this Markdown file")
    p.add_argument("--float64-check", action="store_true",
                   help="instead: neuronka alone, float32 against float64 with the same random weights (how much "
                        "a model amplifies rounding; no Keras)")
    return p.parse_args()


def main() -> int:
    args = _parse()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    os.environ.setdefault("KERAS_BACKEND", "torch")
    os.environ.setdefault("NEURONKA_MALLOC_TUNING", "1")
    import keras
    import numpy
    import torch

    import neuronka
    from neuronka import applications

    torch.set_num_threads(args.threads)
    names = sorted(n for n in dir(keras.applications) if n[0].isupper())
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            print(f"applications_vs_keras: unknown constructors {unknown}", file=sys.stderr)
            return 2
        names = wanted
    if args.float64_check:
        return _float64_check(names, args.size)
    rows = []
    print(f"{'application':<20} {'params':>12} {'K→n rel Δ':>12} {'n→K rel Δ':>12} {'Keras ms':>9} "
          f"{'neuronka ms':>11} {'ratio':>6}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            kwargs = {"weights": None, "classifier_activation": None}
            if args.size:
                kwargs["input_shape"] = (args.size, args.size, 3)
            theirs = _keras_constructor(keras, name)(**kwargs)
            ours = getattr(applications, name)(**kwargs)
            size = tuple(s or 224 for s in theirs.input_shape[1:3])  # MobileNetV3 takes any size: 224
            x = numpy.random.default_rng(0).uniform(0, 255, (1, *size, 3)).astype(numpy.float32)
            family = _family(keras, name)
            xk = getattr(keras.applications, family).preprocess_input(x.copy())
            xn = getattr(applications, family).preprocess_input(x.copy())
            k_params, n_params = theirs.count_params(), ours.count_params()

            path = os.path.join(tmp, f"{name}.weights.h5")
            theirs.save_weights(path)
            ours.load_weights(path)
            with torch.no_grad():
                expected = numpy.asarray(theirs(xk, training=False))
            k_to_n = _relative(ours.predict_on_batch(xn), expected)

            ours_path = os.path.join(tmp, f"{name}.ours.weights.h5")
            # other weights than Keras's, each scaled by 1 ± 1 % (a shift of all of them can kill every unit:
            # MobileNet's logits were then its bias alone, and the comparison proved nothing)
            noise = numpy.random.default_rng(1)
            perturbed = [(w * (1 + 0.01 * noise.uniform(-1, 1, w.shape))).astype(w.dtype) for w in ours.get_weights()]
            ours.set_weights(perturbed)
            ours.save_weights(ours_path)
            fresh = _keras_constructor(keras, name)(**kwargs)
            fresh.load_weights(ours_path)
            with torch.no_grad():
                back = numpy.asarray(fresh(xk, training=False))
            n_to_k = _relative(ours.predict_on_batch(xn), back)
            if numpy.unique(back).size < 2 or numpy.unique(expected).size < 2:
                print(f"{name}: the logits are constant, the comparison proves nothing", file=sys.stderr)

            def keras_call(model=theirs, images=xk):
                with torch.no_grad():
                    model(images, training=False)

            k_ms = _median_ms(keras_call, args.repeats)
            n_ms = _median_ms(lambda model=ours, images=xn: model.predict_on_batch(images), args.repeats)
            row = (name, k_params, n_params, k_to_n, n_to_k, k_ms, n_ms, f"{size[0]}×{size[1]}")
            rows.append(row)
            same = "" if k_params == n_params else f" (Keras {k_params:,})"
            print(f"{name:<20} {n_params:>12,}{same} {k_to_n:>12.2e} {n_to_k:>12.2e} {k_ms:>9.0f} {n_ms:>11.0f} "
                  f"{k_ms / n_ms:>6.2f}", flush=True)
            del theirs, ours, fresh
    mismatched = [r[0] for r in rows if r[1] != r[2]]
    print(f"{len(rows)} applications; parameter counts equal: {len(rows) - len(mismatched)}"
          + (f" (different: {mismatched})" if mismatched else "") + f"; neuronka {neuronka.__version__}, "
          f"Keras {keras.__version__}, torch {torch.__version__}, {args.threads} threads, "
          f"load average at end {os.getloadavg()[0]:.2f}")
    if args.markdown:
        _write_markdown(args.markdown, rows, args)
    return 1 if mismatched else 0


# Keras refuses NASNetMobile / NASNetLarge on the torch backend ("an outstanding bug"); its NASNet builder with
# their published arguments makes the same models
_NASNET = {"NASNetMobile": dict(penultimate_filters=1056, num_blocks=4, stem_block_filters=32, skip_reduction=False,
                                default_size=224, name="nasnet_mobile"),
           "NASNetLarge": dict(penultimate_filters=4032, num_blocks=6, stem_block_filters=96, skip_reduction=True,
                               default_size=331, name="nasnet_large")}


def _keras_constructor(keras, name: str):
    if name not in _NASNET:
        return getattr(keras.applications, name)
    from keras.src.applications import nasnet

    def build(input_shape=None, **kwargs):
        return nasnet.NASNet(input_shape, filter_multiplier=2, **_NASNET[name], **kwargs)

    return build


def _float64_check(names, size) -> int:
    """Per model: max |y32 − y64| / max |y64| of the logits, neuronka in float32 and in float64 with the same
    random weights on the same image: what rounding alone does to it (EfficientNetV2M/L: of order 1)."""
    import numpy

    from neuronka import applications, config

    print(f"{'application':<20} {'float32 vs float64 rel Δ':>26} {'logit scale':>12}")
    for name in names:
        kwargs = {"weights": None, "classifier_activation": None}
        if size:
            kwargs["input_shape"] = (size, size, 3)
        config.set_floatx("float32")
        single = getattr(applications, name)(**kwargs)
        config.set_floatx("float64")
        double = getattr(applications, name)(**kwargs)
        config.set_floatx("float32")
        double.set_weights([w.astype("float64") for w in single.get_weights()])
        shape = tuple(s or 224 for s in single.input_shape[1:3])
        x = numpy.random.default_rng(0).uniform(0, 255, (1, *shape, 3))
        y32 = numpy.asarray(single.predict_on_batch(x.astype("float32")), dtype="float64")
        y64 = numpy.asarray(double.predict_on_batch(x))
        print(f"{name:<20} {_relative(y32, y64):>26.2e} {numpy.abs(y64).max():>12.3g}", flush=True)
    return 0


def _family(keras, name: str) -> str:
    """The module of keras.applications whose preprocess_input goes with the constructor ``name``."""
    import inspect

    module = inspect.getmodule(getattr(keras.applications, name)).__name__.rsplit(".", 1)[-1]
    return {"resnet": "resnet50" if name == "ResNet50" else "resnet", "efficientnet_v2": "efficientnet_v2",
            "mobilenet_v3": "mobilenet_v3"}.get(module, module)


def _relative(ours, theirs) -> float:
    """max |ours − theirs| / max |theirs|: the logits' largest difference relative to their scale."""
    import numpy

    theirs = numpy.asarray(theirs, dtype=numpy.float64)
    return float(numpy.abs(numpy.asarray(ours, dtype=numpy.float64) - theirs).max() / max(numpy.abs(theirs).max(),
                                                                                       1e-30))


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return 1000 * times[len(times) // 2]


def _write_markdown(path: str, rows, args) -> None:
    lines = ["| application | input | parameters | Keras → neuronka max rel. diff | neuronka → Keras max rel. diff | "
             "Keras ms | neuronka ms | Keras / neuronka |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, k_params, n_params, k_to_n, n_to_k, k_ms, n_ms, size in rows:
        params = f"{n_params:,}" if k_params == n_params else f"{n_params:,} (Keras {k_params:,})"
        lines.append(f"| {name} | {size} | {params} | {k_to_n:.1e} | {n_to_k:.1e} | {k_ms:.0f} | {n_ms:.0f} | "
                     f"{k_ms / n_ms:.2f} |")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
