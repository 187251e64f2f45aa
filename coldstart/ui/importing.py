"""The import form on the home page: one tab per importer, each calling the same function as the CLI.

Paths are paths on the machine running the app (the server), as with ``coldstart import``.
A finished import becomes the active dataset.
"""

from __future__ import annotations

import streamlit as st

from ..errors import ColdstartError
from ..paths import data_root, validate_name
from . import common as ui
from . import loaders

# kind -> (tab title, one-line help, [(field, label, help, required)], CLI example)
FORMS = {
    "folder": ("Folder of images",
               "PNG/JPEG/DICOM files; class sub-folders (e.g. normal/, pneumonia/) or a labels CSV. "
               "Masks are matched by file name.",
               [("path", "Image folder", "e.g. /data/cxr/images", True),
                ("labels", "Labels CSV (optional)", "columns: filename,label", False),
                ("masks", "Mask folder (optional)", "mask files named like the images", False)],
               "coldstart import folder PATH --name NAME"),
    "chestx-det": ("ChestX-Det",
                   "The official ChestX-Det JSON annotations plus the PNG folder; imports "
                   "'no finding' vs one finding (default Pneumothorax) with its masks.",
                   [("json_files", "JSON file(s)", "comma-separated, e.g. ChestX_Det_train.json,ChestX_Det_test.json", True),
                    ("images", "Image folder", "folder with the PNG files", True),
                    ("finding", "Positive finding", "e.g. Pneumothorax, Effusion", False),
                    ("split", "Split", "paper (default: random 70:10:20 over the cohort) or official", False)],
                   "coldstart import chestx-det --json FILE --images DIR --name NAME"),
    "medmnist": ("MedMNIST .npz",
                 "A MedMNIST file such as pneumoniamnist.npz (its own train/val/test splits are kept).",
                 [("path", "The .npz file", "e.g. /data/pneumoniamnist.npz", True)],
                 "coldstart import medmnist FILE --name NAME"),
    "siim": ("SIIM-ACR",
             "SIIM-ACR pneumothorax DICOMs plus train-rle.csv; split by patient.",
             [("dicom", "DICOM folder", "folder with the .dcm files", True),
              ("rle", "train-rle.csv", "RLE mask table", True)],
             "coldstart import siim --dicom DIR --rle CSV --name NAME"),
}


def _call(kind: str, values: dict, name: str, seed: int, progress):
    from ..data import importers

    f = importers.IMPORTERS[kind]
    v = {k: x for k, x in values.items() if x}
    if kind == "chestx-det":
        files = [s.strip() for s in v.pop("json_files").split(",") if s.strip()]
        return f(files, v.pop("images"), name, seed=seed, progress=progress, **v)
    if kind == "siim":
        return f(v.pop("dicom"), v.pop("rle"), name, seed=seed, progress=progress)
    return f(v.pop("path"), name, seed=seed, progress=progress, **v)


def import_form() -> None:
    """Render the tabs; on submit run the importer with a progress bar and switch to the new dataset."""
    st.caption(f"Files are read on the machine running this app; datasets are written under "
               f"`{data_root()}`. Unreadable files are skipped and listed in the import report.")
    tabs = st.tabs([FORMS[k][0] for k in FORMS])
    for tab, (kind, (title, help_text, fields, cli)) in zip(tabs, FORMS.items()):
        with tab, st.form(f"import_{kind}", border=False):
            st.caption(help_text)
            values = {f: st.text_input(label, key=f"import_{kind}_{f}", placeholder=h, help=h)
                      for f, label, h, _ in fields}
            c1, c2 = st.columns([3, 1])
            name = c1.text_input("Dataset name", key=f"import_{kind}_name",
                                 placeholder="letters, digits, _ - . (e.g. my_cxr)")
            seed = int(c2.number_input("Split seed", min_value=0, value=0, key=f"import_{kind}_seed"))
            st.caption(f"Same as `{cli}`.")
            go = st.form_submit_button("Import", icon=":material/upload:", type="primary")
        if not go:
            continue
        try:
            missing = [label for f, label, _, req in fields if req and not values[f].strip()]
            if missing:
                raise ColdstartError(f"fill in {', '.join(missing)} to import a {title} dataset")
            validate_name(name.strip())
            with st.status(f"Importing {title} as {name.strip()!r}…", expanded=True) as s:
                ds = _call(kind, {k: x.strip() for k, x in values.items()}, name.strip(), seed,
                           ui.progress_callback("importing"))
                rep = ds.report()
                s.update(label=f"Imported {len(ds):,} images as {ds.name!r}"
                         + (f" ({len(rep)} files skipped or converted: see the import report)" if len(rep) else ""),
                         state="complete")
            st.session_state[ui.DATASET_KEY] = ds.name
            loaders.list_embedders_table.clear()
            st.rerun()
        except ColdstartError as e:
            ui.show_error(e, "import failed")
