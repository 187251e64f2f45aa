"""What the Train page offers: usable embedders, cold-start selectors and their methods.

The default comparison itself is :func:`coldstart.train.presets.default_methods` (it depends on the preset).
"""

from __future__ import annotations

import pandas as pd

def usable_embedders(table: pd.DataFrame) -> list[str]:
    """Available embedders of a :func:`coldstart.embed.list_embedders` table (``file`` needs a path, so not
    offered); ``["pixels"]`` when none is."""
    names = [str(n) for n, ok in zip(table["name"], table["available"]) if ok and str(n) != "file"]
    return names or ["pixels"]


def cold_start_selectors() -> tuple[list[str], dict[str, str]]:
    """Selectors usable before any model exists (random excluded: it needs no features), and every
    selector's one-line summary."""
    from ..select import REGISTRY, list_selectors

    names = [s for s in list_selectors("cold-start") if s != "random"]
    return names, {k: v.summary for k, v in REGISTRY.items()}


def method_options(embedders: list[str], selectors: list[str]) -> list[str]:
    """Every method the page offers: ``random`` and each embedder:selector pair."""
    return ["random"] + [f"{e}:{s}" for e in embedders for s in selectors]


def default_run_methods(dataset, embedders: list[str], selectors: list[str], preset: str = "paper") -> list[str]:
    """The methods a new run on ``dataset`` starts with: random, the naive clustering on raw pixels, and
    the dataset's default embedder (a paper foundation model whose weights are present, else the
    dataset's own default, e.g. ``gist`` on the phantom pool) with the preset's clustering and three
    other selectors. See :func:`coldstart.train.presets.default_methods`."""
    from ..embed.registry import FOUNDATION, default_embedder
    from ..train.presets import default_methods

    name = default_embedder(dataset)[0]
    features = (name,) if name != "pixels" else FOUNDATION
    return default_methods(embedders, selectors, preset, features)


# ---- strata, seeds and the one-click quick demo --------------------------------------------------
#: Manifest columns a new run reports per-stratum results by, first match wins: ``subgroup`` is the
#: phantom pool's hidden-stratification column (its untreated pneumothoraces are the lesson).
STRATA_PREFERENCE = ("subgroup",)

#: The paper fixes every seed at 2024 (its authors' scripts); epoch tasks under the paper preset start
#: there. The quick probe ignores the preset, and repeats over five seeds by default.
PAPER_SEED = 2024
DEFAULT_SEEDS = (0, 1, 2, 3, 4)


def default_strata(dataset) -> str | None:
    """The stratum column a new run on ``dataset`` reports by: the first of :data:`STRATA_PREFERENCE`
    that :func:`coldstart.select.strata.stratifier_columns` accepts, else None (no per-stratum rows)."""
    from ..select.strata import stratifier_columns

    usable = stratifier_columns(dataset.manifest)
    return next((c for c in STRATA_PREFERENCE if c in usable), None)


def default_seeds(task: str, preset: str) -> list[int]:
    """The seeds a new run starts with: ``[2024]`` (the paper's) for a network task under the ``paper``
    preset, else :data:`DEFAULT_SEEDS` (the probe ignores the preset)."""
    if preset == "paper" and task in ("classification", "segmentation"):
        return [PAPER_SEED]
    return list(DEFAULT_SEEDS)


def seeds_text(seeds) -> str:
    """``[0, 1, 2]`` -> ``"0,1,2"``, the form :func:`parse_seeds` reads."""
    return ",".join(str(int(s)) for s in seeds)


def parse_seeds(text: str) -> list[int]:
    """A typed seed list: ``"0,1,2"``, ``"2024"``, ranges ``"0-4"`` (inclusive), commas or spaces.

    Raises
    ------
    ColdstartError
        Empty, not a whole number, negative, a backwards range, or a repeated seed; the message names
        the value and the fix.
    """
    from ..errors import ColdstartError

    hint = "type whole numbers separated by commas, e.g. 0,1,2 or 2024 (a range such as 0-4 works too)"
    tokens = str(text).replace(",", " ").split()
    if not tokens:
        raise ColdstartError(f"seeds={text!r} is empty: {hint}")
    out: list[int] = []
    for tok in tokens:
        lo, sep, hi = tok.partition("-")
        try:
            first, last = (int(lo), int(hi)) if sep and lo else (int(tok), int(tok))
        except ValueError:
            raise ColdstartError(f"seeds={text!r}: {tok!r} is not a whole number; {hint}") from None
        if first < 0 or last < first:
            raise ColdstartError(f"seeds={text!r}: {tok!r} is negative or a backwards range; {hint}")
        out += range(first, last + 1)
    repeated = sorted({s for s in out if out.count(s) > 1})
    if repeated:
        raise ColdstartError(f"seeds={text!r} repeats {repeated}: each seed once, e.g. 0,1,2")
    return out


def quick_demo(dataset, embedders: list[str]) -> dict:
    """The one-click demo grid (a RunConfig mapping without ``dataset``): the quick probe comparing random,
    the paper's clustering (``kmeans-paper``) on the dataset's default embedder, and the naive baseline on
    raw pixels as 32 x 32 thumbnails (``pixels-32`` with the fast ``kmeans``, at demo cost), 3 budgets x 3
    seeds, one worker, per-stratum results on :func:`default_strata`. Budgets 20, 40, 60 (on a pool under
    120 images, three steps up to half of it).

    Sized for under 30 s on 2 cores (``benchmarks/quick_demo.py`` measures it end to end): on the phantom
    pool ``gist:kmeans-paper``'s three selections at budget 60 take about 9 s together (their restarts run
    side by side), and from a freshly built pool the whole demo, the ``gist`` embedding included, took
    22 s (load 6.5); ``kmeans-paper`` on 224-px ``pixels`` would cost more than the rest of the demo, so
    the baseline stays ``pixels-32:kmeans`` (0.3 s). One worker avoids the worker processes' start-up."""
    from ..embed.registry import default_embedder
    from ..train.presets import CLUSTERING

    name = default_embedder(dataset)[0]
    methods = ["random"]
    if name != "pixels" and name in embedders:
        methods.append(f"{name}:{CLUSTERING['paper']}")  # first embedder named: the probe trains on it
    clu = CLUSTERING["quick"]
    methods.append(f"pixels-32:{clu}" if "pixels-32" in embedders else f"pixels:{clu}")
    pool = int((dataset.splits == "train").sum())
    step = 20 if pool >= 120 else max(2, pool // 6)  # a small pool: three budgets up to half of it
    return dict(task="probe", methods=methods, budgets=[step, 2 * step, 3 * step], seeds=[0, 1, 2], preset="quick",
                strata=default_strata(dataset), rounds=0, workers=1)


def file_embedder_methods(dataset, path: str, selectors: list[str]) -> tuple[str, list[str]]:
    """Bring-your-own embeddings for a run: ``(embedder, methods)`` for the file at ``path``, read and
    validated against ``dataset`` by :mod:`coldstart.embed.file` (ids, shape, finite values): the embedder
    is ``file:<absolute path>`` and the methods pair it with each of ``selectors``.

    Raises
    ------
    ColdstartError
        The file is missing, of an unknown kind, or does not match the dataset (the message says how).
    """
    from ..embed.file import FileEmbedder
    from ..errors import ColdstartError

    if not str(path).strip():
        raise ColdstartError("path is empty: give the .npy/.npz/.parquet/.csv file of your embeddings")
    e = FileEmbedder(str(path).strip().removeprefix("file:"))
    ok, reason = e.available()
    if not ok:
        raise ColdstartError(reason)
    e.embed(dataset)  # reads and validates once (ids against the manifest, shape, NaN)
    return e.name, [f"{e.name}:{s}" for s in selectors]
