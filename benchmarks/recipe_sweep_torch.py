"""Choose the ResNet-20 recipe of ``neuronka lab run resnet20-cifar10`` (claim 10) on a validation split,
fast, with a PyTorch twin of the same network, data and training loop on a GPU.

Why a twin: on the 2-core machines one neuronka run of the recipe takes the 90 minutes the claim allows, so
choosing its learning rate, weight decay or label smoothing by neuronka runs would take days. The twin
(``benchmarks/torch_models.CifarResNet``: same layers, option A shortcuts, He-normal truncated kernels as
Keras's ``he_normal``, BatchNorm eps 1e-5 / momentum 0.1) trains every candidate at once on a lent GPU.
Only the choice is made here; the accuracy claim 10 reports comes from neuronka's own run of the chosen
recipe. neuronka never imports torch: this script is a tool beside the project, like the benchmarks.

Nothing is chosen on the test split: the candidates train on 45,000 training images (the first 4,500 of
each class) and are judged on the other 5,000 (the last 500 of each class). ``--split test`` trains on all
50,000 and reports test accuracy; use it only for a recipe fixed beforehand (e.g. to check that the twin
reproduces neuronka's figure for the same recipe).

    python benchmarks/recipe_sweep_torch.py --data ../shared/datasets/cifar10/cifar10-jpeg.tar.gz \
        --configs base,ls0,wd1e-4 --out sweep.json            # one process per candidate, all at once

Each candidate is the base recipe (``neuronka/lab/recipe.py``) with the changes its name lists, joined by
``+``: ``ls0`` (label smoothing 0), ``wd3e-4`` (weight decay), ``lr0.2`` (peak learning rate), ``b64``
(batch, learning rate scaled with it), ``linear`` (linear decay instead of cosine), ``nesterov``,
``ep40`` (epochs), ``seed1``. Reported per candidate: accuracy on the held-out images with one view and
with the horizontal flip averaged in, the final training loss, seconds.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import subprocess
import sys
import tarfile
import time

import numpy

BASE = {"epochs": 30, "batch_size": 128, "lr": 0.1, "momentum": 0.9, "nesterov": False, "weight_decay": 5e-4,
        "schedule": "cosine", "warmup_epochs": 1, "label_smoothing": 0.1, "seed": 0}
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def parse_config(name: str) -> dict:
    """The base recipe with the changes ``name`` lists (``base`` or ``change+change+...``)."""
    cfg = dict(BASE)
    for part in name.split("+"):
        if part in ("base", ""):
            continue
        if part.startswith("ls"):
            cfg["label_smoothing"] = float(part[2:])
        elif part.startswith("wd"):
            cfg["weight_decay"] = float(part[2:])
        elif part.startswith("lr"):
            cfg["lr"] = float(part[2:])
        elif part.startswith("b"):
            cfg["lr"] *= int(part[1:]) / cfg["batch_size"]
            cfg["batch_size"] = int(part[1:])
        elif part.startswith("ep"):
            cfg["epochs"] = int(part[2:])
        elif part.startswith("seed"):
            cfg["seed"] = int(part[4:])
        elif part.startswith("warm"):
            cfg["warmup_epochs"] = int(part[4:])
        elif part in ("linear", "cosine", "onecycle"):
            cfg["schedule"] = part
        elif part == "nesterov":
            cfg["nesterov"] = True
        else:
            raise SystemExit(f"recipe_sweep_torch: unknown change {part!r} in config {name!r}")
    return cfg


# ======================================================================================
# data: the shared JPEG copy, decoded once into an .npz cache
# ======================================================================================
def load_cifar10(path: str, cache: str):
    if os.path.exists(cache):
        z = numpy.load(cache)
        return z["xtr"], z["ytr"], z["itr"], z["xte"], z["yte"]
    from PIL import Image

    split = {"train": ([], [], []), "test": ([], [], [])}
    with tarfile.open(path) as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(".jpg"):
                continue
            parts = member.name.split("/")
            which, cls, stem = parts[-3], parts[-2], parts[-1][:-4]
            img = numpy.asarray(Image.open(io.BytesIO(tar.extractfile(member).read())).convert("RGB"))
            xs, ys, idx = split[which]
            xs.append(img)
            ys.append(CLASSES.index(cls))
            idx.append(int(stem))
    out = {}
    for which, key in (("train", "tr"), ("test", "te")):
        xs, ys, idx = split[which]
        order = numpy.lexsort((numpy.array(idx), numpy.array(ys)))
        out["x" + key] = numpy.stack(xs)[order]
        out["y" + key] = numpy.array(ys, dtype=numpy.int64)[order]
        out["i" + key] = numpy.array(idx, dtype=numpy.int64)[order]
    numpy.savez(cache, **out)
    return out["xtr"], out["ytr"], out["itr"], out["xte"], out["yte"]


# ======================================================================================
# one candidate
# ======================================================================================
def train_one(name: str, args) -> dict:
    import torch
    import torch.nn.functional as F

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from torch_models import CifarResNet

    cfg = parse_config(name)
    torch.manual_seed(cfg["seed"])
    gen = numpy.random.default_rng(cfg["seed"])
    dev = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    xtr, ytr, itr, xte, yte = load_cifar10(args.data, args.cache)
    if args.split == "val":  # the last 500 images of each class are held out
        held = itr >= 4500
        xtr, ytr, xev, yev = xtr[~held], ytr[~held], xtr[held], ytr[held]
    else:
        xev, yev = xte, yte
    if args.limit:
        a, b = max(1, len(ytr) // args.limit), max(1, 4 * len(yev) // args.limit)  # every class, evenly
        xtr, ytr, xev, yev = xtr[::a], ytr[::a], xev[::b], yev[::b]
    mean = xtr.reshape(-1, 3).mean(0) / 255.0
    std = xtr.reshape(-1, 3).std(0) / 255.0

    def to_tensor(x):
        t = torch.tensor(x, device=dev).permute(0, 3, 1, 2).float() / 255.0
        m, sd = (torch.tensor(v, device=dev).view(1, 3, 1, 1).float() for v in (mean, std))
        return (t - m) / sd

    train_x = F.pad(to_tensor(xtr), (4, 4, 4, 4))  # zero padding on the normalized scale, as neuronka's crop
    train_y = torch.tensor(ytr, device=dev)
    eval_x, eval_y = to_tensor(xev), torch.tensor(yev, device=dev)

    model = CifarResNet(20).to(dev)
    for m in model.modules():  # Keras's he_normal: truncated normal, stddev sqrt(2 / fan_in) / .8796
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            fan_in = m.weight[0].numel()
            sd = math.sqrt(2.0 / fan_in) / 0.87962566103423978
            torch.nn.init.trunc_normal_(m.weight, std=sd, a=-2 * sd, b=2 * sd)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
    model = model.to(memory_format=torch.channels_last)
    decay = [p for n, p in model.named_parameters() if n.endswith("weight") and p.ndim > 1]
    other = [p for n, p in model.named_parameters() if not (n.endswith("weight") and p.ndim > 1)]
    groups = [{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": other, "weight_decay": 0.0}]
    opt = torch.optim.SGD(groups, lr=cfg["lr"], momentum=cfg["momentum"], nesterov=cfg["nesterov"])
    n, bs = len(train_y), cfg["batch_size"]
    steps = n // bs  # neuronka's ImageBatches drops no batch; the difference is < 1 batch per epoch
    total, warm = cfg["epochs"] * steps, cfg["warmup_epochs"] * steps

    def rate(step):
        if step < warm:
            return cfg["lr"] * step / warm
        t = (step - warm) / max(1, total - warm)
        if cfg["schedule"] == "linear":
            return cfg["lr"] * (1 - t)
        return cfg["lr"] * 0.5 * (1 + math.cos(math.pi * t))

    ar = torch.arange(32, device=dev)
    t0, step, loss_sum = time.time(), 0, 0.0
    for _epoch in range(cfg["epochs"]):
        model.train()
        order = torch.tensor(gen.permutation(n), device=dev)
        loss_sum, count = torch.zeros((), device=dev), 0
        for b in range(steps):
            idx = order[b * bs:(b + 1) * bs]
            i = torch.randint(0, 9, (len(idx),), device=dev)
            j = torch.randint(0, 9, (len(idx),), device=dev)
            rows = (i[:, None] + ar)[:, None, :, None]
            cols = (j[:, None] + ar)[:, None, None, :]
            xb = train_x[idx[:, None, None, None], torch.arange(3, device=dev)[None, :, None, None], rows, cols]
            flip = torch.rand(len(idx), device=dev) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb).contiguous(memory_format=torch.channels_last)
            for g in opt.param_groups:
                g["lr"] = rate(step)
            loss = F.cross_entropy(model(xb), train_y[idx], label_smoothing=cfg["label_smoothing"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
            count += 1
            step += 1
    train_loss = float(loss_sum) / max(1, count)
    model.eval()
    correct = correct_flip = 0
    with torch.no_grad():
        for b in range(0, len(eval_y), 1000):
            xb = eval_x[b:b + 1000].contiguous(memory_format=torch.channels_last)
            p = F.softmax(model(xb), 1)
            pf = p + F.softmax(model(xb.flip(3)), 1)
            correct += int((p.argmax(1) == eval_y[b:b + 1000]).sum())
            correct_flip += int((pf.argmax(1) == eval_y[b:b + 1000]).sum())
    return {"config": name, **cfg, "split": args.split, "eval_images": len(eval_y), "accuracy": correct / len(eval_y),
            "accuracy_flip_tta": correct_flip / len(eval_y), "last_epoch_train_loss": train_loss,
            "seconds": round(time.time() - t0, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="the CIFAR-10 JPEG copy (cifar10-jpeg.tar.gz)")
    ap.add_argument("--cache", default="/tmp/cifar10-jpeg-decoded.npz")
    ap.add_argument("--configs", default="base", help="comma-separated candidates (module docstring)")
    ap.add_argument("--split", choices=("val", "test"), default="val")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--limit", type=int, default=0, help="train on this many images only (smoke test)")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a worker: run one config, print JSON
    ap.add_argument("--out", help="write all results here as JSON")
    args = ap.parse_args(argv)
    names = [c for c in args.configs.split(",") if c]
    for name in names:
        parse_config(name)  # fail before starting anything
    if args.one:
        print(json.dumps(train_one(names[0], args)), flush=True)
        return 0
    load_cifar10(args.data, args.cache)  # decode once, before the workers start
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    base_cmd = [sys.executable, os.path.abspath(__file__), "--data", args.data, "--cache", args.cache, "--split",
                args.split, "--device", args.device, "--limit", str(args.limit), "--one", "--configs"]
    procs = [(name, subprocess.Popen(base_cmd + [name], stdout=subprocess.PIPE, env=env, text=True)) for name in names]
    results, running = [], list(procs)
    while running:  # report each candidate as it ends (the --out file too, so a cut-off sweep keeps them)
        time.sleep(1.0)
        for name, proc in [p for p in running if p[1].poll() is not None]:
            running.remove((name, proc))
            out = proc.stdout.read()
            if proc.returncode:
                print(f"{name}: failed with exit code {proc.returncode}", flush=True)
                continue
            results.append(json.loads(out.strip().splitlines()[-1]))
            r = results[-1]
            print(f"{name:32s} {r['split']} acc {r['accuracy']:.4f}  flip-TTA {r['accuracy_flip_tta']:.4f}  "
                  f"train loss {r['last_epoch_train_loss']:.3f}  {r['seconds']:.0f} s", flush=True)
            if args.out:
                with open(args.out, "w") as f:
                    json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
