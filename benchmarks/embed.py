"""Embedding throughput: full pipeline (decode + preprocess + forward) vs bare model forward.

Both are measured in one run on the same images, preloaded into memory as
their PNG bytes: the pipeline decodes them, applies the embedder's own
preprocessing in the DataLoader and runs the model (exactly
``Embedder.embed``); the bare forward runs the model on the already
preprocessed tensors. The pipeline should reach >= 90% of the bare
throughput. Weights do not change speed, so a randomly initialised model is
written to a temporary weights folder when the real file is absent.

Usage::

    .venv/bin/python benchmarks/embed.py [--embedder txrv-densenet121] [--n 64] [--batch-size 16]
        [--device cpu|cuda] [--repeats 3] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# benchmarks/ holds select.py, which would shadow the standard library's `select` (used by subprocess)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))


class InMemoryImages:
    """The first ``n`` images of a dataset, kept as PNG bytes; decoded on every load."""

    def __init__(self, ds, n):
        self.name = ds.name
        self.blobs = [ds.image_path(i).read_bytes() for i in range(min(n, len(ds)))]

    def __len__(self):
        return len(self.blobs)

    def load_image(self, i, size=None):
        from coldstart.data.dataset import load_png

        return load_png(io.BytesIO(self.blobs[i]), size)


def ensure_weights(e, tmp):
    """Random-init weights in the official format when the real file is absent (speed only)."""
    import torch

    if e.available()[0]:
        return "real weights"
    from coldstart.embed.weights import WEIGHTS

    os.environ["COLDSTART_WEIGHTS"] = tmp
    w = WEIGHTS[e.weights_id]
    path = Path(tmp) / w.filename
    if e.name == "txrv-densenet121":
        from coldstart.embed.txrv import import_xrv

        torch.save(import_xrv().models.DenseNet(num_classes=18), path)
    elif e.name == "imagenet-densenet121":
        import torchvision

        torch.save(torchvision.models.densenet121(weights=None).state_dict(), path)
    elif e.name == "txrv-resnet50":
        import torchvision

        m = torchvision.models.resnet50(num_classes=18, weights=None)
        m.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
        torch.save(m.state_dict(), path)
    elif e.name == "txrv-autoencoder":
        from coldstart.embed.txrv import import_xrv

        torch.save(import_xrv().autoencoders.ResNetAE101().state_dict(), path)
    else:
        raise SystemExit(f"no random-weights recipe for {e.name}")
    assert e.available()[0]
    return "random-init weights (same speed)"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embedder", default="txrv-densenet121")
    ap.add_argument("--dataset", default="phantom")
    ap.add_argument("--data-dir", default="/tmp/coldstart-bench/data")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--device", default=None)
    ap.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: the embedder's)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)

    import torch

    torch.set_num_threads(a.threads)
    os.environ["COLDSTART_DATA"] = a.data_dir
    from coldstart.data import Dataset
    from coldstart.embed import get_embedder
    from coldstart.embed.base import resolve_device

    try:
        ds = Dataset(a.dataset, a.data_dir)
    except Exception:  # noqa: BLE001
        from coldstart.data.phantom import generate_phantom

        ds = generate_phantom(a.dataset, n=800, seed=0, root=a.data_dir)
    mem = InMemoryImages(ds, a.n)
    device = resolve_device(a.device)
    tmp = tempfile.mkdtemp(prefix="cs-bench-weights-")
    e = get_embedder(a.embedder, ds)
    how = ensure_weights(e, tmp) if getattr(e, "weights_id", None) else "no weights"
    model = e.model(device)
    cuda = device.startswith("cuda")

    # preprocessed once, for the bare forward
    pre = torch.from_numpy(np.stack([e.preprocess(mem.load_image(i, e.load_size)) for i in range(len(mem))]))
    batches = list(torch.split(pre, a.batch_size))
    if cuda:
        batches = [b.pin_memory() for b in batches]

    def bare():
        with torch.inference_mode():
            for b in batches:
                e.run_batch(model, b, device, cuda)
        if cuda:
            torch.cuda.synchronize()

    def pipeline():
        e.embed(mem, device=device, batch_size=a.batch_size, num_workers=a.workers)
        if cuda:
            torch.cuda.synchronize()

    # decode + preprocess alone (CPU time): the pipeline's extra work per image, independent of load
    c = time.process_time()
    for i in range(len(mem)):
        e.preprocess(mem.load_image(i, e.load_size))
    prep_cpu = (time.process_time() - c) / len(mem)

    bare()  # warm-up (allocator, oneDNN/cuDNN kernels)
    t_bare, t_pipe, c_bare, c_pipe = [], [], [], []
    for _ in range(a.repeats):  # interleaved, so load from other processes hits both alike
        t, c = time.perf_counter(), time.process_time()
        bare()
        t_bare.append(time.perf_counter() - t), c_bare.append(time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        pipeline()
        t_pipe.append(time.perf_counter() - t), c_pipe.append(time.process_time() - c)
    n = len(mem)
    bare_ips, pipe_ips = n / min(t_bare), n / min(t_pipe)
    ratio = pipe_ips / bare_ips
    # CPU-time view (this process, all threads): robust when other jobs share the cores.
    # Exact only without loader worker processes (their CPU time is not counted).
    cpu_ratio = min(c_bare) / min(c_pipe)
    print(f"{e.name} on {device} ({how}), {n} images {ds.image_path(0).suffix} "
          f"{mem.load_image(0).shape} -> input {tuple(pre.shape[1:])}, batch {a.batch_size}, "
          f"threads {torch.get_num_threads()}, best of {a.repeats}")
    print(f"  bare forward : {bare_ips:8.1f} img/s   (runs: {', '.join(f'{n / t:.1f}' for t in t_bare)})")
    print(f"  full pipeline: {pipe_ips:8.1f} img/s   (runs: {', '.join(f'{n / t:.1f}' for t in t_pipe)})")
    print(f"  pipeline / bare = {ratio:.1%}  (target >= 90%: {'OK' if ratio >= 0.9 else 'BELOW'})")
    workers = a.workers if a.workers is not None else 0 if len(mem) <= 64 else None
    print(f"  CPU seconds per image: bare {min(c_bare) / n:.3f}, pipeline {min(c_pipe) / n:.3f} -> "
          f"CPU-time ratio {cpu_ratio:.1%}" + ("" if workers == 0 else " (loader workers not counted)"))
    fwd_cpu = min(c_bare) / n
    print(f"  decode + preprocess alone: {prep_cpu * 1000:.1f} ms CPU per image vs forward {fwd_cpu * 1000:.0f} ms "
          f"-> serial upper bound on the overhead: pipeline >= {fwd_cpu / (fwd_cpu + prep_cpu):.1%} of bare")
    return dict(embedder=e.name, device=device, bare_ips=bare_ips, pipeline_ips=pipe_ips, ratio=ratio,
                cpu_ratio=cpu_ratio, prep_cpu_s=prep_cpu, fwd_cpu_s=fwd_cpu)


if __name__ == "__main__":
    main()
