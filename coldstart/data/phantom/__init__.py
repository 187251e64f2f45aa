"""The embedded default pool: simulated frontal chest films of a phantom population, from one real chest CT.

Every image is a digitally reconstructed radiograph (DRR) of the CT in
:mod:`coldstart.data.ct_source`, rendered for one *patient* (a smooth 3-D
deformation of the CT: :mod:`.anatomy`), one *acquisition protocol* (PA erect
or AP portable, with its divergent-beam geometry, positioning, exposure and
processing: :mod:`.render`, :mod:`.physics`), the patient's *devices*
(radio-opaque 3-D objects projected through the same geometry:
:mod:`.devices`) and a *finding* (a 3-D pneumothorax, treated with a drain
or not). The pool's make-up is planned by :mod:`.pool` from the one
parameter table :mod:`.params`; the projection bank is cached by
:mod:`.bank`.

Examples
--------
>>> from coldstart.data.phantom import generate_phantom     # doctest: +SKIP
>>> ds = generate_phantom(n=800, seed=0)                     # doctest: +SKIP
>>> ds.manifest.subgroup.value_counts()                      # doctest: +SKIP
"""

from .bank import PHANTOM_VERSION, ViewBank, load_views
from .devices import DEVICE_NAMES
from .pool import SUBGROUPS, ensure_phantom, generate_phantom, plan_pool
from .render import CLASSES, KINDS, OOD_KINDS, PhantomImage, render_phantom

__all__ = ["CLASSES", "DEVICE_NAMES", "KINDS", "OOD_KINDS", "PHANTOM_VERSION", "SUBGROUPS", "PhantomImage",
           "ViewBank", "ensure_phantom", "generate_phantom", "load_views", "plan_pool", "render_phantom"]
