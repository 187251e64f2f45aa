"""Importers: every source becomes the one canonical dataset layout.

Each importer is a plain function returning a :class:`~coldstart.data.Dataset`
(the CLI ``coldstart import <kind>`` calls the same function). They all take
their arguments in one order: the source (path, or the two paths a source
needs), then the dataset ``name``, then keyword-only options, ending with
``seed``, ``root`` and ``progress``. Bad files never
end an import: they are skipped or converted with a reason in
``<dataset>/import_report.csv``.

========== ===========================================================
name       function
========== ===========================================================
folder     :func:`import_folder` (class sub-folders or flat + CSV, masks by stem)
chestx-det :func:`import_chestx_det` (official JSON + image folder)
siim       :func:`import_siim` (DICOM folder + train-rle.csv)
medmnist   :func:`import_medmnist` (``.npz``; :func:`download_medmnist`)
phantom    :func:`coldstart.data.phantom.generate_phantom`
========== ===========================================================
"""

from .chestx_det import import_chestx_det
from .common import format_summary
from .folder import import_folder
from .medmnist import download_medmnist, import_medmnist
from .siim import import_siim, rle_decode, rle_encode

IMPORTERS = {
    "folder": import_folder,
    "chestx-det": import_chestx_det,
    "siim": import_siim,
    "medmnist": import_medmnist,
}

__all__ = ["IMPORTERS", "download_medmnist", "format_summary", "import_chestx_det", "import_folder",
           "import_medmnist", "import_siim", "rle_decode", "rle_encode"]
