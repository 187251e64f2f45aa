"""Run configuration: what to compare (methods x budgets x seeds, optional AL rounds) and how.

A *method* is ``"embedder:selector"`` (``"random"`` alone means ``"any:random"``).
Validation happens before any work starts: unknown keys, bad values,
budgets larger than the pool, missing masks for segmentation and embedders
whose weights are absent all raise :class:`ColdstartError`.

Fair comparison
---------------
``probe_embedder`` is the embedding the *probe* trains on. Default (None):
one fixed embedding for every method of the run: the dataset's default
embedder when it has one beyond raw pixels (a paper foundation model whose
weights are present, or the dataset's own, e.g. ``gist`` on the phantom pool;
pinned into the run's config when the run is created, so a resumed run never
changes it), else the embedder of the first method that has one (``pixels``
if all methods are random). The
selection is then the only thing that differs between methods, as in the
paper, where every method trains the same VGG-11. Set
``probe_embedder="method"`` to let each method train on its own embedding
(random then uses the fixed default).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import BudgetError, ColdstartError, MissingWeightsError
from ..params import check_known_keys
from ..train.oracle import OracleSettings
from ..train.presets import (CLUSTERING, DEFAULT_PRESET, DEFAULT_STRATEGY, PRESETS, RANDOM_DRAWS, TASKS,
                             preset_notice, resolve_params)


class PresetNotice(UserWarning):
    """Issued once when a classification or segmentation run names no preset (it says which one it got)."""

VAL_MODES = ("split", "holdout")


def parse_method(method: str) -> tuple[str | None, str]:
    """``"pixels:kmeans" -> ("pixels", "kmeans")``; ``"random"``/``"any:random" -> (None, "random")``.

    The embedder part may itself contain ':' (``ssl-pool:<id>:kmeans``): the selector is after the last ':'.
    """
    m = str(method).strip()
    if not m:
        raise ColdstartError("empty method name: write methods as embedder:selector, e.g. pixels:kmeans")
    if ":" not in m:
        if m == "random":
            return None, "random"
        raise ColdstartError(f"method {m!r} needs an embedder: write embedder:selector, e.g. pixels:{m}")
    emb, sel = m.rsplit(":", 1)
    if sel == "random" or emb in ("any", ""):
        return (None if emb in ("any", "") else emb), sel
    return emb, sel


@dataclass
class RunConfig:
    """One experiment.

    Attributes
    ----------
    dataset : str
    task : {"probe", "classification", "segmentation"}
    methods : list of str
        ``"embedder:selector"``; ``"random"`` needs no embedder. Default: random and the preset's
        naive clustering (``paper``: ``pixels:kmeans-paper``, the paper's protocol; ``quick``:
        ``pixels:kmeans``, its fast approximation).
    budgets : list of int
        Cold-start budgets (nested selections), default 20..100.
    seeds : list of int or None
        None (unset): :func:`coldstart.runs.defaults.default_seeds`, ``[2024]`` (the paper's) for a
        classification or segmentation run under the ``paper`` preset, else 0..4.
    preset : {"quick", "paper"} or None
        None (unset) becomes :data:`coldstart.train.presets.DEFAULT_PRESET` (``quick``) when the config
        is checked; config.json, the CLI and the report name the preset every run used, and a
        classification or segmentation run built by :meth:`from_dict` without one issues a
        :class:`PresetNotice` saying which it got and how to get the paper's.
    train : dict
        Overrides of the preset's training settings (see :mod:`coldstart.train.presets`); once checked,
        every setting of the preset with the overrides applied (pinned, so config.json records them all).
    cold_start : bool
        Run the cold-start comparison (one training per method x seed x budget).
    rounds : int
        Active-learning rounds after the initial selection at ``budgets[0]``; 0 = none.
    query_size : int
        Images labeled per AL round (paper: 20).
    strategy : str
        Round strategy of the AL rounds (:data:`coldstart.train.al.ROUND_STRATEGIES`); empty = the
        preset's (``paper``: ``threshold``, the paper's; ``quick``: ``least-confidence``).
    ood_filter : float
        AL rounds: fraction of the unlabeled images with the highest OOD score dropped before
        each query (0 = off).
    warm_start : bool
        AL rounds continue from the previous round's weights (default: restart from the initial weights).
    oracle : dict
        Simulated annotator settings (:class:`coldstart.train.oracle.OracleSettings`).
    probe_embedder : str or None
        See the module docstring ("Fair comparison").
    val_mode : {"split", "holdout"}
        "split" (paper): the dataset's labeled validation split; "holdout": every 5th usable
        labeled pick is held out for validation (a realistic cold start, costs budget).
    selector_params : dict
        ``{selector: {param: value}}`` passed to the selector. ``random`` takes ``draws``: random draws
        trained per seed and budget and pooled as the authors do (mean of the draws' values, SE from
        their pooled bootstrap draws); unset = the preset's (:data:`coldstart.train.presets.RANDOM_DRAWS`:
        ``paper`` 10, ``quick`` 1), written into the config when the run has the ``random`` method.
    n_bootstrap : int
        Bootstrap resamples for the test-set SE (default 100).
    strata : str or None
        A categorical manifest column (e.g. ``subgroup``, ``protocol``): results then also carry
        per-stratum metrics, each positive stratum's positives against all negatives (AP, AUROC,
        sensitivity at the run's threshold), in rows whose ``stratum`` is the value ("all" = overall).
        Classification tasks only (probe, classification).
    workers : int or None
        Processes that train units at once (None: the number of cores; a run with fewer than two
        units per worker runs in one process). Results do not depend on it.
    executor : {"local", "ray"}
        Where units run: this machine, or a Ray cluster (the ``[scale]`` extra; docs/scale.md).
        Results do not depend on it.
    address : str or None
        The Ray cluster of ``executor="ray"``: None starts a local Ray, ``auto`` joins the one
        started on this machine, ``HOST:PORT`` or ``ray://HOST:PORT`` a remote one.
    """

    dataset: str
    task: str = "probe"
    methods: list | None = None  # None: random and the preset's naive clustering (paper: pixels:kmeans-paper)
    budgets: list = field(default_factory=lambda: [20, 40, 60, 80, 100])
    seeds: list | None = None  # None: defaults.default_seeds(task, preset)
    preset: str | None = None
    train: dict = field(default_factory=dict)
    cold_start: bool = True
    rounds: int = 0
    query_size: int = 20
    strategy: str = ""
    ood_filter: float = 0.0
    warm_start: bool = False
    oracle: dict = field(default_factory=dict)
    probe_embedder: str | None = None
    val_mode: str = "split"
    selector_params: dict = field(default_factory=dict)
    n_bootstrap: int = 100
    name: str = ""
    workers: int | None = None
    strata: str | None = None
    executor: str = "local"
    address: str | None = None

    # ---- construction ----------------------------------------------------
    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        """Build and check a config; unknown keys raise ColdstartError naming the valid ones."""
        if not isinstance(d, dict):
            raise ColdstartError(f"a run config must be a mapping of settings, got {type(d).__name__}")
        check_known_keys("run config key", d, [f.name for f in fields(cls)])
        if "dataset" not in d:
            raise ColdstartError("the run config needs 'dataset' (the imported dataset's name)")
        cfg = cls(**d)
        cfg.check()
        if not d.get("preset") and cfg.task in ("classification", "segmentation"):
            import warnings

            warnings.warn(preset_notice(cfg.task), PresetNotice, stacklevel=2)
        return cfg

    @classmethod
    def from_yaml(cls, path) -> "RunConfig":
        import yaml

        p = Path(path)
        if not p.is_file():
            raise ColdstartError(f"config file {p} not found: give the path of a YAML run config")
        try:
            d = yaml.safe_load(p.read_text())
        except yaml.YAMLError as e:
            raise ColdstartError(f"{p} is not valid YAML: {e}") from None
        return cls.from_dict(d or {})

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    # ---- checks -------------------------------------------------------------
    def check(self) -> None:
        """Checks that need no data on disk (types, ranges, names)."""
        from ..paths import validate_name

        validate_name(self.dataset)
        if self.task not in TASKS:
            raise ColdstartError(f"task={self.task!r}: choose one of {', '.join(TASKS)}")
        self.preset = self.preset or DEFAULT_PRESET
        if self.preset not in PRESETS:
            raise ColdstartError(f"preset={self.preset!r}: choose one of {', '.join(sorted(PRESETS))}")
        if self.methods is None:
            self.methods = ["random", f"pixels:{CLUSTERING[self.preset]}"]
        if self.seeds is None:
            from .defaults import default_seeds

            self.seeds = default_seeds(self.task, self.preset)
        self.methods = _as_list(self.methods, str, "methods")
        if not self.methods:
            raise ColdstartError("methods is empty: give at least one, e.g. random,pixels:kmeans")
        for m in self.methods:
            parse_method(m)
        if len(set(self.methods)) != len(self.methods):
            raise ColdstartError(f"methods lists a method twice: {self.methods}")
        if not isinstance(self.selector_params, dict):
            raise ColdstartError(f"selector_params={self.selector_params!r} must map selector names to their "
                                 "parameters, e.g. {random: {draws: 10}}")
        if any(parse_method(m)[1] == "random" for m in self.methods):
            rnd = dict(self.selector_params.get("random") or {})
            rnd.setdefault("draws", RANDOM_DRAWS[self.preset])
            from ..select.random_ import DRAWS

            DRAWS.check(rnd["draws"], "random")  # a run setting of the random method (see DRAWS)
            self.selector_params = dict(self.selector_params, random=rnd)
        self.budgets = _as_list(self.budgets, int, "budgets")
        self.seeds = _as_list(self.seeds, int, "seeds")
        if not self.budgets or any(b < 1 for b in self.budgets):
            raise ColdstartError(f"budgets={self.budgets}: give positive image counts, e.g. 20,40,60,80,100")
        if sorted(set(self.budgets)) != self.budgets:
            raise ColdstartError(f"budgets={self.budgets} must be increasing without repeats, e.g. 20,40,60")
        if not self.seeds:
            raise ColdstartError("seeds is empty: give at least one, e.g. 0,1,2")
        self.rounds, self.query_size = int(self.rounds), int(self.query_size)
        if self.rounds < 0 or self.query_size < 1:
            raise ColdstartError(f"rounds={self.rounds} must be >= 0 and query_size={self.query_size} >= 1")
        if not self.cold_start and not self.rounds:
            raise ColdstartError("nothing to run: set cold_start=true or rounds >= 1")
        from ..train.al import check_strategy

        self.strategy = self.strategy or DEFAULT_STRATEGY[self.preset]
        check_strategy(self.strategy, self.task, resolve_params(self.task, self.preset, self.train), self.ood_filter)
        if self.val_mode not in VAL_MODES:
            raise ColdstartError(f"val_mode={self.val_mode!r}: choose one of {', '.join(VAL_MODES)}")
        OracleSettings.from_dict(self.oracle)
        params = resolve_params(self.task, self.preset, self.train)
        # every training setting is pinned into the config (config.json), so the report names the settings
        # the run's numbers used and a resumed run keeps them even if a preset's defaults change later
        self.train = dict(params)
        if int(self.n_bootstrap) < 2:
            raise ColdstartError(f"n_bootstrap={self.n_bootstrap} must be >= 2 (default 100)")
        if self.workers is not None:
            given = self.workers
            try:
                self.workers = int(given)
            except (TypeError, ValueError):
                self.workers = 0
            if self.workers < 1 or isinstance(given, bool):
                raise ColdstartError(f"workers={given!r} must be a positive number of processes "
                                     "(or unset for one per core)")
        if self.executor not in ("local", "ray"):
            raise ColdstartError(f"executor={self.executor!r}: choose local or ray")
        if self.executor == "ray":
            from ..ray_cluster import check_address

            self.address = check_address(self.address)

    def selector_kwargs(self, selector: str) -> dict:
        """The parameters passed to ``selector`` itself: its ``selector_params`` less the run settings
        (``draws`` of ``random`` is trained by the run, each selection being one draw)."""
        params = dict(self.selector_params.get(selector) or {})
        if selector == "random":
            params.pop("draws", None)
        return params

    @property
    def random_draws(self) -> int:
        """Random draws trained and pooled per seed and budget for the ``random`` method (1 = one draw)."""
        return int((self.selector_params.get("random") or {}).get("draws", RANDOM_DRAWS[self.preset or DEFAULT_PRESET]))

    @property
    def params(self) -> dict:
        return resolve_params(self.task, self.preset, self.train)

    @property
    def al_budgets(self) -> list[int]:
        return [self.budgets[0] + r * self.query_size for r in range(self.rounds + 1)]

    def embedders(self) -> list[str]:
        """Every embedder the run needs (selection and probe)."""
        out = []
        for m in self.methods:
            e, _ = parse_method(m)
            if e and e not in out:
                out.append(e)
        if self.task == "probe":
            for e in {self.probe_embedding(m) for m in self.methods}:
                if e not in out:
                    out.append(e)
        return out

    def pin_probe_embedder(self, dataset) -> None:
        """Fix the probe's default embedding to the dataset's default embedder (see "Fair comparison");
        kept as is when set, when the task is not the probe, or when that default is raw pixels."""
        if self.task != "probe" or self.probe_embedder not in (None, ""):
            return
        from ..embed.registry import default_embedder

        name = default_embedder(dataset)[0]
        if name != "pixels":
            self.probe_embedder = name

    def probe_embedding(self, method: str) -> str:
        """The embedding the probe trains on for ``method`` (see "Fair comparison")."""
        default = next((e for e, _ in map(parse_method, self.methods) if e), "pixels")
        if self.probe_embedder in (None, ""):
            return default
        if self.probe_embedder == "method":
            return parse_method(method)[0] or default
        return self.probe_embedder

    def validate(self, dataset=None) -> None:
        """Checks against the data: dataset exists, budgets fit the pool, embedders available,
        selectors known, masks for segmentation. Raises ColdstartError before any work starts."""
        from ..data.dataset import Dataset

        ds = dataset if dataset is not None else Dataset(self.dataset)
        pool = int((ds.splits == "train").sum())
        if self.task == "segmentation":
            from ..train.segmentation import cohort

            pool = len(cohort(ds, ds.split_indices("train"), self.params["include_negatives"]))
        top = max(self.budgets[-1], self.al_budgets[-1] if self.rounds else 0)
        if top > pool:
            raise BudgetError(
                f"budget={top} is larger than the pool ({pool} train images of {self.dataset!r}): "
                f"choose budgets (and budgets[0] + rounds x query_size) <= {pool}")
        if len(ds.split_indices("test")) == 0:
            raise ColdstartError(f"dataset {self.dataset!r} has no test images: re-import it with a test split")
        if self.task != "segmentation" and len(ds.classes) != 2:
            raise ColdstartError(
                f"dataset {self.dataset!r} has {len(ds.classes)} classes {ds.classes}; runs need 2 "
                "(negative, positive)")
        if self.task == "segmentation":
            from ..train.segmentation import check_masks

            check_masks(ds)
        if self.task != "probe":
            from ..train.torchloop import resolve_pretrained

            resolve_pretrained(self.params["pretrained"])
        from ..select import get_selector

        for m in self.methods:
            if get_selector(parse_method(m)[1]).kind != "cold-start":
                raise ColdstartError(
                    f"method {m!r}: {parse_method(m)[1]!r} is an active-learning round strategy (it needs a "
                    "trained model), not a cold-start selector: remove it from methods and set it as the "
                    f"rounds' strategy instead (strategy: {parse_method(m)[1]}, rounds >= 1)")
        if self.strata:
            if self.task == "segmentation":
                raise ColdstartError(f"strata={self.strata!r}: per-stratum metrics are computed for the probe and "
                                     "classification tasks; remove strata for segmentation")
            from ..select.strata import stratum_values

            stratum_values(ds.manifest, self.strata)  # a clear error listing the usable columns
        for e in self.embedders():
            ok, reason = _embedder_available(e, ds)
            if not ok:
                raise MissingWeightsError(f"embedder {e!r} is not available: {reason}")


def _embedder_available(name: str, dataset=None) -> tuple[bool, str]:
    from ..embed import get_embedder

    try:
        return get_embedder(name, dataset).available()
    except ColdstartError as e:
        return False, str(e)


def _as_list(v: Any, typ, what: str) -> list:
    if isinstance(v, str):
        v = [x for x in v.replace(" ", "").split(",") if x]
    if isinstance(v, (int,)) and typ is int:
        v = [v]
    try:
        return [typ(x) for x in v]
    except (TypeError, ValueError):
        raise ColdstartError(f"{what}={v!r} must be a list of {typ.__name__}, e.g. "
                             + ("20,40,60" if typ is int else "random,pixels:kmeans")) from None
