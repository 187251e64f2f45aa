"""Home: the active dataset, what is in it, how to import more, and what this tool is for.

``app.py`` is the entry point (``streamlit run app.py`` or ``make app``); it lists this page first.
"""

from __future__ import annotations

import streamlit as st

from coldstart.data.dataset import preview_indices
from coldstart.ui import common as ui
from coldstart.ui.importing import import_form
from coldstart.ui.weights_view import similarity_words

ui.page_config("Home")
ds = ui.dataset_sidebar()

st.title("coldstart: choose the first images to annotate")
st.markdown(
    "Pick a **small, well-spread first set** of images for an expert to label, see **why** each "
    "one was chosen, train on them, and compare the choice **honestly** against random picks.")

first_visit = st.session_state.setdefault("home_first_visit", True)
with st.expander("What is cold-start selection? (two-minute read for clinicians and teachers)",
                 expanded=bool(first_visit) or ds is None, icon=":material/school:"):
    similarity = similarity_words(ds)
    st.markdown(
        f"""
**The problem.** An AI model learns from labelled examples, and an expert's time is the scarce
resource. At the start of a project (the *cold start*) nothing is labelled yet, so we cannot ask a
model which images would help it most. Someone has to choose the first 20-100 images to label.

**Why not pick at random?** Random picks follow the pool: if only 1 image in 10 shows the finding
(a pneumothorax, say), 20 random images may hold only one or two abnormal cases, and several
near-identical normal ones. Labels spent on repeats teach the model little.

**What this tool does.** It places every unlabelled image on a *map* where similar-looking images
sit close together. It then groups the map into as many clusters as you can afford to label and
proposes the image at the centre of each group, so the first labels cover the variety of the
pool, including rare kinds of image (Yuan & Hong, 2024, arXiv 2402.02561).

**Where the similarity comes from.** An *embedder* turns each image into a list of numbers;
images with close numbers count as similar. On this pool: {similarity}.

**How to use it.**
1. **Explore**: see the map, the proposed picks numbered in order, and why each was chosen;
   compare two ways of choosing side by side.
2. **Train** and **Compare**: train a model on each choice and compare the results against
   random picks, with error bars.
3. **Label**: annotate the proposed images yourself; **Classroom**: a whole class labels at once, and the
   teacher sees everyone's curves.

**Keep in mind.** A selection is a proposal based on how images *look*; it does not know which
findings matter clinically. Its benefit is largest when very few images can be labelled, and it
is always shown next to random picks so you can judge it.
""")
st.session_state["home_first_visit"] = False


if ds is not None:
    st.header(f"Dataset: {ds.name}")
    source = ds.info.get("source")
    if source:
        st.caption(f"Source: {source}")
    with st.container(horizontal=True, gap="large"):  # each metric as wide as its label: none is cut off
        st.metric("Images", f"{len(ds):,}", width="content")
        st.metric("Classes", len(ds.classes), width="content")
        st.metric("Ground truth for evaluation", f"{int(ds.is_labeled().sum()):,}", width="content",
                  help="Images whose true label is known. coldstart keeps it to score the methods and to "
                       "play the annotator; selection never sees it: at cold start nothing is labelled.")
        st.metric("With masks", f"{int(ds.manifest['mask'].notna().sum()):,}", width="content")
        st.metric("Flagged out-of-distribution", f"{int(ds.ood.sum()):,}", width="content",
                  help="Images marked as not belonging to the task (e.g. a non-chest image); "
                       "a good selector should avoid them.")

    left, right = st.columns([2, 3])
    with left:
        st.subheader("Images per class and split")
        st.dataframe(ds.summary(), width="stretch")
        st.caption("Selection picks from the **train** split (the unlabelled pool); "
                   "**val** and **test** are held out to measure models fairly.")
    with right:
        st.subheader("A few images")
        idx = preview_indices(ds)
        ui.image_grid(ds, idx, size=160)
        if ds.has_masks:
            st.caption("Red outline: the annotated region (mask) where one exists.")

    report = ds.report()
    with st.expander(f"Import report: {len(report)} file(s) skipped or converted",
                     icon=":material/fact_check:"):
        if report.empty:
            st.write("Every source file was imported as is.")
        else:
            st.dataframe(report, width="stretch", hide_index=True)

st.header("Import a dataset")
import_form()
