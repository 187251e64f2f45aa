"""The Train page's method policy (coldstart.runs.defaults) and report tables as data."""
import pandas as pd

from coldstart.runs.defaults import cold_start_selectors, method_options, usable_embedders


def test_only_cold_start_selectors_and_available_embedders_are_offered():
    names, summaries = cold_start_selectors()
    assert "kmeans" in names and "random" not in names
    assert not {"least-confidence", "margin", "entropy", "bald", "badge"} & set(names)
    assert set(names) <= set(summaries)
    t = pd.DataFrame({"name": ["pixels", "file", "txrv-densenet121"], "available": [True, True, False]})
    assert usable_embedders(t) == ["pixels"]
    assert usable_embedders(t.assign(available=False)) == ["pixels"]
    assert method_options(["pixels"], ["kmeans", "coreset"]) == ["random", "pixels:kmeans", "pixels:coreset"]


def test_report_frame_is_the_report_table():
    from coldstart.runs import report_frame, report_table

    rows = []
    for m, v in (("random", 0.5), ("pixels:kmeans", 0.6)):
        for s in (0, 1):
            rows.append(dict(unit=f"cold|{m}|s{s}|b20", phase="cold", method=m, strategy="", seed=s, round=-1,
                             budget=20, metric="ap", value=v + 0.01 * s, se=0.01,
                             status="untrainable" if (m, s) == ("random", 1) else "ok",
                             reason="no normal image", n_wasted=0, weights=""))
    r = pd.DataFrame(rows)
    rep = report_frame(r, "auprc")  # the former name of ap
    assert rep.cells.loc["pixels:kmeans", "20"].startswith("0.605") and rep.best.loc["pixels:kmeans", "20"]
    assert rep.cells.loc["random", "20"] == "0.500 (0.010) [1/2]" and not rep.best.loc["random", "20"]
    assert rep.notes == ["random @ 20: 1/2 seeds untrainable (no normal image); mean over the other seeds"]
    assert report_table(r, "ap", "markdown") == rep.to_markdown()
    assert "**0.605" in rep.markdown_table() and "*0.605" in report_table(r, "ap", "text")


def test_default_run_methods_use_the_datasets_default_embedder(blob_dataset, monkeypatch):
    """No foundation weights: the dataset's own default (dataset.json) carries the clustering methods;
    without one, raw pixels do."""
    from coldstart.runs.defaults import default_run_methods

    sels = ["kmeans", "kmeans-paper", "typiclust", "probcover", "coreset"]
    plain = default_run_methods(blob_dataset, ["pixels", "gist"], sels)
    assert plain[:2] == ["random", "pixels:kmeans-paper"] and all(m.startswith(("random", "pixels:")) for m in plain)
    monkeypatch.setattr(type(blob_dataset), "info", property(lambda self: {"default_embedder": "gist"}),
                        raising=False)
    withgist = default_run_methods(blob_dataset, ["pixels", "gist"], sels)
    assert withgist == ["random", "pixels:kmeans-paper", "gist:kmeans-paper", "gist:typiclust", "gist:probcover",
                        "gist:coreset"]


def test_report_says_how_many_seeds_each_cell_averages():
    from coldstart.runs.report import ReportTable

    t = ReportTable("ap", pd.DataFrame(), pd.DataFrame(), [], [5])
    assert "mean (SE) over 5 seeds" in t.header
    assert "over 1 seed;" in ReportTable("ap", pd.DataFrame(), pd.DataFrame(), [], [1]).header  # --seeds 2024
