"""The paper's tables and figures beside ours: every comparison the chapters show.

Each function takes what the pipeline produced (clip tables, a model, run records) and the
paper's numbers (:mod:`paper`, ``data/paper/*.csv``) and returns a table that shows both
with the difference. Nothing here trains or reads frames.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import augment, cost, datasets, inputs, metrics, paper, profiles, results
from .paper import table
from .protocols import PROTOCOLS

# --- Table II: the clips per class, and what each chapter read ---------------------------------------------


def table2_counts(df: pd.DataFrame, dataset: str | None = None) -> pd.DataFrame:
    """Clips per class of a ``load`` result beside the paper's Table II (``dataset`` is the
    Table II column: ``smic_2class`` for SMIC's two classes, which the text gives): class,
    ours, paper, difference; a last row of totals. Label sets the paper did not use (CAS(ME)^2's
    emotion column, SMIC's three folders) have no paper column values."""
    t2 = table("table2").set_index("emotion")
    name = str(df["dataset"].iloc[0]) if len(df) and dataset is None else dataset
    label_set = df.attrs.get("label_set", "table2")
    column = name if name in t2.columns and label_set in ("table2", "2class") else None
    release = "smic" if name == "smic_2class" else name
    classes = (datasets.classes_of(release, label_set) if release in datasets.SPECS
               else tuple(sorted(set(df["emotion"]))))
    ours = df["emotion"].value_counts() if len(df) else pd.Series(dtype=int)
    rows = []
    for c in classes:
        paper = t2[column].get(c) if column else None
        paper = None if paper is None or pd.isna(paper) else int(paper)
        rows.append({"class": c, "ours": int(ours.get(c, 0)), "table2": paper,
                     "difference": None if paper is None else int(ours.get(c, 0)) - paper})
    total_paper = sum(r["table2"] for r in rows if r["table2"] is not None) if column else None
    rows.append({"class": "total", "ours": int(len(df)), "table2": total_paper,
                 "difference": None if total_paper is None else int(len(df)) - total_paper})
    out = pd.DataFrame(rows)
    for c in ("table2", "difference"):
        out[c] = out[c].astype("Int64")
    return out


def data_used(tables: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every chapter's "data used" tables, from the clip tables it read (dataset key ->
    ``load`` result) -> (one row per dataset, indexed by it: ``data`` (licensed copy or
    synthetic twin), ``sheet`` (file and version), ``read as`` (layout, label set), the
    ``clips`` read beside ``Table II``'s count, the clips ``left out`` for defects and those
    of ``other class``es; every clip left out for a defect and why). Nothing is dropped
    silently."""
    rows, gone = [], []
    for key, df in tables.items():
        a = df.attrs
        total = table2_counts(df, key).iloc[-1]
        out = datasets.left_out(df)
        defect = out["kind"].isin(datasets.DEFECTS)
        rows.append({
            "dataset": key, "data": datasets.source_kind(a),
            "sheet": datasets.sheet_read(a, ", ".join(Path(x).name for x in a.get("sheet") or [])),
            "read as": f"{a.get('layout', '-')}, {a.get('label_set', 'table2')}",
            "clips": int(total["ours"]), "Table II": total["table2"],
            "left out": int(defect.sum()), "other class": int((~defect).sum()),
        })
        gone += [{"dataset": key, **r} for r in out[defect].to_dict("records")]
    summary = pd.DataFrame(rows).set_index("dataset")
    summary["Table II"] = summary["Table II"].astype("Int64")
    return summary, pd.DataFrame(gone, columns=["dataset", "clip", "kind", "why"])


def table2(tables: dict) -> pd.DataFrame:
    """Table II regenerated: per class (rows, a total last) and dataset, the paper's count
    and ours with the difference where there is one ("42 (-1)"); "–" where the paper used no
    such class."""
    cols = {}
    for key, df in tables.items():
        t = table2_counts(df, key).set_index("class")
        cols[(key, "paper")] = t["table2"]
        cols[(key, "ours")] = pd.Series([f"{o} ({d:+d})" if not pd.isna(d) and d else str(o)
                                         for o, d in zip(t["ours"], t["difference"])], index=t.index)
    wide = pd.DataFrame(cols)   # a class of another dataset only: NaN, shown "–" as in Table II
    wide = wide.reindex([c for c in wide.index if c != "total"] + ["total"])
    return wide.astype(object).where(wide.notna(), "–")


NOWRAP = {"white-space": "nowrap"}


def style_data_used(used: pd.DataFrame):
    """:func:`data_used`'s summary for display: the dataset a column like the others (no
    index row of its own), the short columns kept on one line so that the sheet wraps instead."""
    shown = used.reset_index()
    return (shown.style.hide(axis="index").format({"Table II": lambda v: "–" if pd.isna(v) else f"{v}"})
            .set_properties(subset=["dataset", "data"], **NOWRAP))


def style_left_out(gone: pd.DataFrame):
    """:func:`data_used`'s clips left out for display: the reason wraps, nothing else does."""
    return gone.style.hide(axis="index").set_properties(subset=["dataset", "clip", "kind"], **NOWRAP)


def show_data_used(tables: dict) -> None:
    """Display a chapter's "data used" section (:func:`data_used` and :func:`table2`, per
    class beside Table II: across the page for one dataset, down it for several, so that the
    table fits), and every clip left out with the reason."""
    from IPython.display import display

    used, gone = data_used(tables)
    per_class = table2(tables)
    if len(tables) == 1:   # one dataset: its classes across the page
        per_class = per_class.T.droplevel(0)
    else:                  # several: their classes down the page, one column per dataset
        per_class = pd.DataFrame({f"{d}: ours / Table II": ["–" if o == p == "–" else f"{o} / {p}" for o, p in
                                                            zip(per_class[(d, "ours")], per_class[(d, "paper")])]
                                  for d in tables}, index=per_class.index)
    display(style_data_used(used), per_class)
    if len(gone):
        display(style_left_out(gone))
    else:
        print("No clip was left out.")


# --- Tables I and V, Fig. 2: the model beside the paper (chapter 3) ----------------------------------------
# (models and torch are imported inside the functions: the chapters that show no model import no torch)

MODEL_INPUT = inputs.INPUT_SIZE  # Table I's 112×112×3 input (the one definition: learnet_lite.inputs)
HIGHLIGHT = "background-color: #fde2cf"  # a row that disagrees with the paper


# chapter 2: the counts its prose cites beside Table II

def table2_numbers(data: dict) -> dict:
    """The counts chapter 2 cites beside Table II, from the clip tables it read (dataset key
    -> ``load`` result): per dataset the clips read (``clips_<key>``), Table II's total
    (``paper_clips_<key>``) and the subjects (``subjects_<key>``); ``data_kind`` ("twins" when
    every table is a synthetic twin, else "datasets read"); CAS(ME)^2's sheet emotions, its
    other label set (``casme_sq_emotions``), beside Table II's anger, disgust and happiness
    (``paper_casme_sq_counts``); and the frames read in all (``frames_total``)."""
    t2 = table("table2").set_index("emotion")
    out = {}
    for key, clips in data.items():
        out[f"clips_{key}"] = int(len(clips))
        out[f"paper_clips_{key}"] = int(t2.loc["total", key])
        out[f"subjects_{key}"] = int(clips["subject"].nunique())
    twins = all(c.attrs.get("source") == "twin" for c in data.values())
    out["data_kind"] = "twins" if twins else "datasets read"
    emotions = data["casme_sq"]["sheet_emotion"].str.lower().value_counts()
    out["casme_sq_emotions"] = ", ".join(f"{k} {v}" for k, v in emotions.items())
    out["paper_casme_sq_counts"] = ", ".join(str(int(t2.loc[k, "casme_sq"])) for k in ("anger", "disgust", "happiness"))
    out["frames_total"] = int(sum(int(c["n_frames"].sum()) for c in data.values()))
    return out


# LEARNet's ablations (options of models.build) as chapter 3 names them
ABLATIONS = {
    "official (authors' code)": {},
    "accretion off": {"accretion": False},
    "max pooling instead of stride 2": {"downsample": "maxpool"},
    "3×3 final map ('valid' conv 5)": {"final_map": 3},
}


def ablation_counts(num_classes: int = 8, variants: dict = ABLATIONS) -> pd.DataFrame:
    """Trainable parameters of LEARNet and its ablations (``variants``: label -> options of
    ``models.build``, the official network first): variant, options, parameters and the
    difference from the first."""
    from . import models

    counts = pd.DataFrame(
        [dict(variant=k, options=str(v) if v else "-",
              parameters=models.count_parameters(models.build("learnet", num_classes, **v)))
         for k, v in variants.items()]
    )
    counts["vs. official"] = counts["parameters"] - counts["parameters"].iloc[0]
    return counts


def ablation_numbers(counts: pd.DataFrame) -> dict:
    """The counts chapter 3 cites from :func:`ablation_counts`: the official network
    (``n_learnet``), without accretion (``n_noacc``) and with a 3×3 final map (``n_final3``)."""
    n = counts.set_index("variant")["parameters"]
    labels = list(ABLATIONS)
    return {"n_learnet": int(n[labels[0]]), "n_noacc": int(n[labels[1]]), "n_final3": int(n[labels[3]])}


def layer_summary(model, batch_size: int = 1, size: int = MODEL_INPUT, depth: int = 3):
    """The torchinfo per-layer summary (output shape, parameters) at the paper's input,
    with LEARNet's every layer run as a module on its whole input (the full stem map)."""
    import torchinfo

    skip = getattr(model, "skip_unread_stem", None)
    if skip is not None:
        model.skip_unread_stem = False
    try:
        return torchinfo.summary(model, input_size=(batch_size, 3, size, size), depth=depth, verbose=0,
                                 col_names=("output_size", "num_params"), row_settings=("var_names", "depth"),
                                 device="cpu", mode="eval")
    finally:
        if skip is not None:
            model.skip_unread_stem = skip


def _layer_rows(model, size: int = MODEL_INPUT) -> dict[str, tuple[tuple[int, ...], int]]:
    """Module name → (output shape without batch, trainable parameters of it and its
    children), both read from the torchinfo summary."""
    info = layer_summary(model, size=size, depth=10)
    names = {id(m): n for n, m in model.named_modules()}
    shapes, leaf_params = {}, {}
    for layer in info.summary_list:
        name = names.get(id(layer.module))
        if name is None:
            continue
        if layer.output_size:
            shapes[name] = tuple(layer.output_size[1:])
        if layer.is_leaf_layer:
            leaf_params[name] = int(layer.trainable_params)
    return {name: (shape, sum(n for leaf, n in leaf_params.items() if leaf == name or leaf.startswith(name + ".")))
            for name, shape in shapes.items()}


def table1(model=None, size: int = MODEL_INPUT) -> pd.DataFrame:
    """Table I rebuilt from a LEARNet module (default ``models.build("learnet", 8)``): one row
    per row of the paper's table, with the output size and trainable parameter count (weights
    + biases, summed over the four paths or the accretion layers of a row) measured by
    torchinfo, beside the paper's numbers (``data/paper/table1.csv``), the difference, and a
    note on every mismatch."""
    from . import models

    model = model if model is not None else models.build("learnet", 8)
    rows = _layer_rows(model, size)

    def out(name):
        if name not in rows:
            return "-"
        c, h, w = rows[name][0] if len(rows[name][0]) == 3 else (rows[name][0][0], 1, 1)
        return f"{h}×{w}×{c}"

    def params(names):
        return sum(rows[n][1] for n in names if n in rows)

    adds = {lvl: [n for n in (f"accretion.add{lvl}_1", f"accretion.add{lvl}_2") if n in rows] for lvl in (1, 2)}
    paths = {lvl: [f"path{p}.conv{lvl}" for p in range(1, 5)] for lvl in (2, 3, 4)}
    # paper row -> modules of ours that implement it
    layout = [("Input", []), ("Conv-1", ["stem"]), ("Conv-2", paths[2]), ("Add-1", adds[1]),
              ("Conv-3", paths[3]), ("Add-2", adds[2]), ("Conv-4", paths[4]), ("Concat", []),
              ("LRN", ["concat_bn"]), ("Conv-5", ["conv5"]), ("FC", ["fc.linear"]),
              ("FC (classes)", ["classifier"])]
    shape_of = {"Input": None, "Concat": "concat_bn"}
    pub = table("table1").set_index("layer")
    records = []
    for layer, mods in layout:
        output = f"{size}×{size}×3" if layer == "Input" else out(shape_of.get(layer) or (mods[0] if mods else "-"))
        n = params(mods)
        p_out = pub["output"].get(layer, "—")
        p_n = pub["parameters"].get(layer)
        p_n = None if p_n is None or pd.isna(p_n) else int(p_n)
        records.append(dict(layer=layer, module=", ".join(mods) or "-",
                            output=output, parameters=n, paper_output=p_out,
                            paper_parameters=p_n, difference=n - (p_n or 0)))
    df = pd.DataFrame(records)
    total = models.count_parameters(model)
    df.loc[len(df)] = dict(layer="Total", module="", output="", parameters=total, paper_output="",
                           paper_parameters=int(pub["parameters"].sum()),
                           difference=total - int(pub["parameters"].sum()))
    df["paper_parameters"] = df["paper_parameters"].astype("Int64")
    df["mismatch"] = (df["difference"] != 0) | ((df["paper_output"] != df["output"]) & (df["paper_output"] != "—")
                                                 & (df["layer"] != "Total"))
    df["note"] = [_table1_note(r, model) for r in df.itertuples()]
    return df


def _table1_note(r, model) -> str:
    if not r.mismatch:
        return ""
    if r.layer in ("Add-1", "Add-2") and r.module == "-":
        return "ablation: no accretion layer"
    if r.difference != 0:
        return _TABLE1_NOTES[r.layer]
    if model.options["downsample"] == "maxpool":
        return "ablation: stride-1 conv + 2×2 max pooling ('same', rounds up)"
    return _TABLE1_NOTES.get(r.layer, "output size differs")


_TABLE1_NOTES = {
    "Add-1": "paper lists no parameters; the authors' code puts a BatchNorm (γ, β) after each sum",
    "Add-2": "paper lists no parameters; the authors' code puts a BatchNorm (γ, β) after each sum",
    "LRN": "BatchNorm γ, β of the 256 concatenated channels",
    "Conv-5": "ablation: 'valid' conv 5 gives a 3×3 map, the paper prints 4×4",
    "FC": ("paper prints Conv-5's 589,824+256 again; that is a 2304→256 layer (a 3×3 final "
           "map); the authors' 4×4 map flattens to 4096 → 4096·256+256"),
    "FC (classes)": "no row in the paper: the classifier, 256·classes + classes",
    "Total": "paper's Table I rows sum to this (≈ the 1.4M of Table V and the text)",
}


def table1_numbers(t1: pd.DataFrame, num_classes: int = 8) -> dict:
    """The numbers chapter 3 cites from :func:`table1` of the official network (``t1``): our
    FC row and the paper's (``fc_ours``, ``fc_paper``), the paper's total and ours minus it
    (``table1_paper_total``, ``table1_difference``), the rows that disagree
    (``table1_mismatches``), from the table of the 3×3-final-map variant built here, its
    FC row (``fc_final3``) and its total minus the paper's (``final3_vs_paper``), and the shares
    of the network's parameters in its four paths (``paths_share``) and its FC layer (``fc_share``)."""
    from . import models

    t = t1.set_index("layer")
    final3 = table1(models.build("learnet", num_classes, final_map=3)).set_index("layer")
    return {"fc_ours": int(t.loc["FC", "parameters"]), "fc_paper": int(t.loc["FC", "paper_parameters"]),
            "table1_paper_total": int(t.loc["Total", "paper_parameters"]),
            "table1_difference": int(t.loc["Total", "difference"]),
            "table1_mismatches": int(t1["mismatch"].sum()),
            "fc_final3": int(final3.loc["FC", "parameters"]),
            "final3_vs_paper": int(final3.loc["Total", "difference"]),
            # the four paths with their accretion layers (Conv-2 to Conv-4, Add-1, Add-2), and the FC layer
            "paths_share": float(t.loc[PATH_ROWS, "parameters"].sum() / t.loc["Total", "parameters"]),
            "fc_share": float(t.loc["FC", "parameters"] / t.loc["Total", "parameters"])}


PATH_ROWS = ["Conv-2", "Add-1", "Conv-3", "Add-2", "Conv-4"]  # Table I's rows of the four lateral paths


def signed(value, fmt: str = "{:+,}") -> str:
    """A signed number for reading: ``fmt`` applied, with a real minus sign ("−8.6", "+1.2")."""
    return fmt.format(value).replace("-", "\u2212")


SUPERSCRIPTS = "¹²³⁴⁵⁶⁷⁸⁹"


def style_table1(t1: pd.DataFrame):
    """:func:`table1` for display: the rows that disagree with the paper highlighted, the
    published numbers named so, counts with thousands separators, signed differences, no
    index; each row's note a numbered footnote under the table (the layer marked ¹, ², ...),
    not a column, so that the table fits the page."""
    notes = list(dict.fromkeys(n for n in t1["note"] if n))
    marks = {n: SUPERSCRIPTS[i] for i, n in enumerate(notes)}
    shown = t1.drop(columns=["mismatch", "note"]).copy()
    shown["layer"] = [f"{layer}\u00a0{marks[n]}" if n else layer for layer, n in zip(t1["layer"], t1["note"])]
    shown["module"] = shown["module"].str.replace(r"path1\.(conv\d), path2\.\1, path3\.\1, path4\.\1",
                                                  r"path1–4.\1", regex=True)
    shown = shown[["layer", "module", "output", "paper_output", "parameters", "paper_parameters", "difference"]]
    shown = shown.rename(columns={"paper_output": "published output", "paper_parameters": "published parameters"})
    rows = "".join(f"<li>{n}</li>" for n in notes)

    def highlight(row):
        return [HIGHLIGHT if t1.loc[row.name, "mismatch"] else ""] * len(row)

    return (shown.style.apply(highlight, axis=1)
              .format({"published parameters": lambda v: "" if pd.isna(v) else f"{v:,}", "parameters": "{:,}",
                       "difference": signed})
              .set_caption(f'<ol class="table-notes">{rows}</ol>' if rows else "")
              .set_table_styles([{"selector": "caption", "props": "caption-side: bottom; text-align: left;"}])
              .hide(axis="index"))


# Table V as the paper names its rows -> our builder names (ResNet: both depths, see table5)
TABLE5_MODELS = (("VGG-16", "vgg16"), ("VGG-19", "vgg19"), ("GoogleNet", "googlenet"),
                 ("ResNet", "resnet18"), ("ResNet", "resnet34"), ("LEARNet", "learnet"))


def table5(num_classes: int = 1000, learnet_classes: int = 8) -> pd.DataFrame:
    """Table V rebuilt: weight layers and trainable parameters (millions) of each network,
    measured from the modules, beside the paper's column (``data/paper/table5.csv``).

    The baselines are counted with the ImageNet head (``num_classes=1000``), which is how
    the paper's 138M/144M/4M/11M figures arise (with a 112×112 input the torchvision
    models end in adaptive pooling, so their count does not depend on the input size).
    ResNet-18 and ResNet-34 are both shown: the paper's "34 layers, 11M" mixes them
    (ResNet-18 has 11.7M parameters, ResNet-34 21.8M)."""
    import torch

    from . import models

    pub = table("table5").set_index("network")
    rows = []
    for label, key in TABLE5_MODELS:
        with torch.device("meta"):  # shapes only: no memory, no initialisation cost
            model = models.build(key, learnet_classes if key == "learnet" else num_classes)
        n = models.count_parameters(model)
        rows.append(dict(network=label, model=key, layers=models.count_layers(model), parameters=n,
                         millions=round(n / 1e6, 2), paper_layers=int(pub.loc[label, "layers"]),
                         paper_millions=float(pub.loc[label, "parameters_millions"])))
    df = pd.DataFrame(rows)
    df["difference_millions"] = (df["millions"] - df["paper_millions"]).round(2)
    df["layers_match"] = df["layers"] == df["paper_layers"]
    # agreement to the paper's precision: one unit of its last printed digit (it prints
    # whole millions, and 1.4 for LEARNet; 11.7M printed as 11 is truncation, not error)
    unit = df["paper_millions"].map(lambda m: 1.0 if float(m).is_integer() else 0.1)
    df["parameters_match"] = (df["millions"] - df["paper_millions"]).abs() < unit
    return df


def table5_numbers(t5: pd.DataFrame) -> dict:
    """The numbers chapter 3 cites from :func:`table5`: millions of parameters of the
    baselines (``<model>_m``) and the weight layers of LEARNet and the two ResNets
    (``<model>_layers``)."""
    m = t5.set_index("model")
    millions = {f"{k}_m": float(m.loc[k, "millions"]) for k in ("vgg16", "vgg19", "googlenet", "resnet18", "resnet34")}
    return millions | {f"{k}_layers": int(m.loc[k, "layers"]) for k in ("learnet", "resnet18", "resnet34")}


def style_table5(t5: pd.DataFrame):
    """:func:`table5` for display: network, our model, weight layers and parameters beside
    the published ones, the difference in millions (signed); the rows whose layers or
    parameters disagree with the paper highlighted, no index."""
    shown = t5[["network", "model", "layers", "paper_layers", "parameters", "millions", "paper_millions",
                "difference_millions"]].rename(columns={
        "paper_layers": "published layers", "millions": "ours (M)", "paper_millions": "published (M)",
        "difference_millions": "difference (M)"})

    def highlight(r):
        bad = not (t5.loc[r.name, "layers_match"] and t5.loc[r.name, "parameters_match"])
        return [HIGHLIGHT if bad else ""] * len(r)

    return (shown.style.apply(highlight, axis=1)
              .format({"parameters": "{:,}", "ours (M)": "{:.2f}", "published (M)": "{:g}",
                       "difference (M)": lambda v: signed(v, "{:+.2f}")})
              .hide(axis="index"))


def graph(model, size: int = MODEL_INPUT) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """The LEARNet data flow read off a module, for drawing Fig. 2: nodes (``name``,
    ``label`` with kernel, width and output size, ``params``, grid position ``x``/``y``) and
    edges ``(from, to)``. Paths are rows 1–4 and levels are columns; an accretion node sits
    between two levels in the row of the path it feeds. An ablated module draws as it is
    (no accretion nodes when ``accretion=False``)."""
    import torch

    from .models import LEARNet, count_parameters

    was_training = model.training
    model.eval()
    with torch.no_grad():
        maps = model.lateral(torch.zeros(1, 3, size, size))
        head = model.conv5(model.concat_bn(maps["concat"]))
    model.train(was_training)

    def hw(t):
        return f"{t.shape[-2]}×{t.shape[-1]}×{t.shape[1]}"

    nodes, edges = [], []
    mid = 2.5  # vertical centre of the four path rows

    def node(name, label, x, y, module=None):
        nodes.append(dict(name=name, label=label, x=x, y=y, params=0 if module is None else count_parameters(module)))

    stem = model.stem.conv
    node("input", f"input\n{size}×{size}×3", 0, mid)
    node("stem", f"stem conv {stem.kernel_size[0]}×{stem.kernel_size[1]}×{stem.out_channels}\n{hw(maps['stem'])}",
         1, mid, model.stem)
    edges.append(("input", "stem"))
    feeds = {p: "stem" for p in range(1, 5)}
    for level in (1, 2, 3):
        x = 2 * level
        for p in range(1, 5):
            block = getattr(model, f"path{p}")[level - 1]
            k = block.conv.kernel_size[0]
            name = f"p{p}.{level}"
            node(name, f"path {p}: conv {k}×{k}×{block.conv.out_channels}\n{hw(maps[name])}", x, p, block)
            edges.append((feeds[p], name))
            feeds[p] = name
        if level < 3:
            for i, (dst, src) in enumerate(LEARNet.PAIRS, start=1):
                key = f"add{level}_{i}"
                if key not in maps:
                    continue
                node(key, f"accretion + BN\n{hw(maps[key])}", x + 1, dst, model.accretion[key])
                edges += [(f"p{src}.{level}", key), (f"p{dst}.{level}", key)]
                feeds[dst] = key
    node("concat", f"concat + BN\n{hw(maps['concat'])}", 7, mid, model.concat_bn)
    edges += [(feeds[p], "concat") for p in range(1, 5)]
    node("conv5", f"conv 5 3×3×256\n{hw(head)}", 8, mid, model.conv5)
    node("fc", f"FC {model.fc.linear.out_features}\n+ dropout", 9, mid, model.fc)
    node("classifier", f"FC {model.classifier.out_features}\n(classes)", 10, mid, model.classifier)
    edges += [("concat", "conv5"), ("conv5", "fc"), ("fc", "classifier")]
    return pd.DataFrame(nodes), edges


# Figs. 4 and 5: what the chapter cites from a trained network's maps

def accretion_input_correlation(maps: dict, key: str = "add1_1") -> float:
    """Mean correlation, over the channels where both vary, of the two inputs of the
    accretion layer ``key`` (for ``add1_1``: path 1's and path 2's level-1 responses), from
    the ``LEARNet.lateral`` maps of one image; NaN where no channel varies in both."""
    import numpy as np

    from .models import LEARNet

    level, i = (int(s) for s in key.removeprefix("add").split("_"))
    dst, src = LEARNet.PAIRS[i - 1]
    a, b = maps[f"p{src}.{level}"][0].flatten(1), maps[f"p{dst}.{level}"][0].flatten(1)
    r = [float(np.corrcoef(a[c], b[c])[0, 1]) for c in range(a.shape[0]) if a[c].std() > 0 and b[c].std() > 0]
    return float(np.mean(r)) if r else float("nan")


def pooling_vs_stride(model, x) -> tuple[dict, object, object]:
    """Fig. 5's comparison on the same trained stem filters and input ``x`` (1, 3, H, W):
    (a) convolve at stride 1, ReLU, 2×2 max pooling; (b) the stride-2 convolution the network
    uses. -> (numbers, pooled, strided): the maps' side (``fig5_shape``) and the mean, over
    channels, of their mean absolute difference relative to the mean stride-2 response
    (``fig5_relative_difference``)."""
    import torch
    import torch.nn.functional as F

    conv = model.stem.conv
    with torch.no_grad():
        pooled = F.max_pool2d(F.relu(F.conv2d(x, conv.weight, conv.bias, padding=1)), 2)
        strided = F.relu(conv(x))
    diff = (pooled - strided).abs().flatten(2).mean(2) / (strided.abs().flatten(2).mean(2) + 1e-9)
    numbers = {"fig5_shape": f"{tuple(pooled.shape[-2:])}", "fig5_relative_difference": float(diff.mean())}
    return numbers, pooled, strided



# --- Tables III and IV, Figs. 7-10: results beside the paper (chapters 4-6) --------------------------------


# the paper's "ResNet" (Table V: 34 layers but 11M parameters, ResNet-18's size) -> ours
PAPER_MODEL_ALIASES = {"resnet": "resnet18"}
# our numbers per protocol in a table beside the paper: accuracy (mean over repeats), its std, ours minus the
# paper's, pooled UF1 and UAR, repeats, the 95 % interval and the runs behind it
NUMBERS = ("acc", "std", "diff", "uf1", "uar", "repeats", "low", "high", "runs")


def beside_paper(table: pd.DataFrame, paper_rows: pd.DataFrame, protocols=PROTOCOLS,
                 aliases: dict | None = None) -> pd.DataFrame:
    """The paper's accuracy (``data/paper/table3.csv``/``table4.csv`` rows) beside ours:
    one row per paper row, per protocol our ``acc_<protocol>`` (mean over repeats, percent),
    ``std_<protocol>``, ``diff_<protocol>`` (ours minus the paper's), ``uf1_<protocol>``,
    ``uar_<protocol>`` (pooled), ``repeats_<protocol>``, ``runs_<protocol>`` and the 95 %
    bootstrap interval ``low_<protocol>``..``high_<protocol>`` over ``over_<protocol>``
    (:func:`results.units`); NaN where not run, listed in ``not_run``. Where ``table`` says
    which records were made on the data now in use (:func:`results.aggregate` with
    ``current``): ``data_<protocol>`` and ``data`` over the row's protocols, "current" or
    "other data (n of m records)". A quoted row whose method we implement (the handcrafted
    ones, :mod:`handcrafted`) gets ours beside it; CNN-LSTN, which we do not, keeps none."""
    aliases = {**PAPER_MODEL_ALIASES, **(aliases or {})}
    rows = []
    for p in paper_rows.to_dict("records"):
        row = dict(p)
        model = p.get("model")
        model = aliases.get(model, model) if isinstance(model, str) and model else None
        row["our_model"] = model
        not_run, other, total, checked = [], 0, 0, True
        for protocol in protocols:
            hit = pd.DataFrame()
            if model is not None and not table.empty:
                hit = table[(table["dataset"] == p["dataset"]) & (table["model"] == model)
                            & (table["protocol"] == protocol)]
            if len(hit) > 1:
                raise ValueError(f"beside_paper: {len(hit)} result rows for {p['dataset']}/{model}/{protocol} "
                                 f"(profiles {sorted(hit['profile'])}, variants {sorted(hit['variant'])}); "
                                 "select one profile and variant first")
            if len(hit) == 1:
                h = hit.iloc[0]
                acc = 100 * h["accuracy_mean"]
                row.update({f"acc_{protocol}": acc, f"std_{protocol}": 100 * h["accuracy_std"],
                            f"diff_{protocol}": acc - p["accuracy"], f"uf1_{protocol}": h["uf1_pooled"],
                            f"uar_{protocol}": h["uar_pooled"], f"repeats_{protocol}": int(h["repeats"]),
                            f"low_{protocol}": 100 * h.get("accuracy_low", float("nan")),
                            f"high_{protocol}": 100 * h.get("accuracy_high", float("nan")),
                            f"over_{protocol}": h.get("interval_over"), f"runs_{protocol}": int(h["runs"]),
                            f"data_{protocol}": h.get("data")})
                if pd.isna(h.get("other_data")):
                    checked = False
                else:
                    other, total = other + int(h["other_data"]), total + int(h["runs"])
            else:
                row.update({f"{k}_{protocol}": float("nan") for k in NUMBERS})
                row[f"data_{protocol}"] = row[f"over_{protocol}"] = None
                if model is not None:
                    not_run.append(protocol)
        row["data"] = results.data_label_of(other, total, checked)
        row["not_run"] = ",".join(not_run)
        rows.append(row)
    return pd.DataFrame(rows)


def paper_figure(number: int) -> pd.DataFrame:
    """The paper's Fig. 7-10 confusion matrix as printed, as a square table: index = the
    printed "TRUE LABEL" axis, columns = the printed "PREDICTED LABEL" axis (see the notes
    in ``data/paper/fig<number>.csv`` on why the printed titles may be swapped)."""
    fig = paper.table(f"fig{number}")
    order = list(dict.fromkeys(fig["true"]))
    return fig.pivot(index="true", columns="predicted", values="value").loc[order, order]


# the paper's class abbreviations in Figs. 7-10 -> the class names of our records
PAPER_CLASS_NAMES = {"happy": "happiness", "sad": "sadness"}


def fill_command(profile: str, dataset: str, model: str, protocols) -> str:
    """The command that records the missing runs of one table cell group."""
    return (f"learnet-lite reproduce --profile {profile} --datasets {dataset} --models {model} "
            f"--protocols {' '.join(protocols)}")


# a paper row's (dataset, classes) -> the dataset of our records where the paper ran a dataset
# with other classes than Table II's (Table IV's 2-class SMIC, SMIC-I): each run key of
# inputs.LABEL_SETS under its release and class count, {("smic", 2): "smic_2class"}
CLASS_SET_DATASETS = {(release, len(datasets.classes_of(release, label_set))): key
                      for key, (release, label_set) in inputs.LABEL_SETS.items()}


def our_datasets(rows: pd.DataFrame) -> list:
    """The dataset key of our records each of the paper's rows compares with (its ``dataset``
    and ``classes``, :data:`CLASS_SET_DATASETS`: Table IV's 2-class SMIC -> ``smic_2class``)."""
    return [CLASS_SET_DATASETS.get((d, int(k)), d) for d, k in zip(rows["dataset"], rows["classes"])]


def paper_table(name: str, records: pd.DataFrame, profile: str, variant: str = "bilen",
                protocols=PROTOCOLS, current: dict | None = None) -> pd.DataFrame:
    """Table III (``"table3"``) or IV (``"table4"``) beside our runs of one profile and input
    variant (:func:`beside_paper`). Each paper row's ``dataset`` becomes the dataset of our
    records it compares with (:data:`CLASS_SET_DATASETS`: Table IV's 2-class rows ->
    ``smic_2class``; the printed name stays in ``paper_dataset``). A row whose class count
    still differs from our records' gets no numbers of ours; ``fill`` names the command that
    records whatever of a CNN row was not run (empty for the quoted handcrafted rows);
    ``current`` (dataset -> sha256 of the data now in use) fills ``data`` (:func:`beside_paper`)."""
    rows = paper.table(name)
    rows.insert(rows.columns.get_loc("dataset") + 1, "paper_dataset", rows["dataset"])
    rows["dataset"] = our_datasets(rows)
    sel = _selected(records, profile, variant)
    table = results.aggregate(sel, current) if not sel.empty else pd.DataFrame(columns=list(results.GROUP))
    out = beside_paper(table, rows, protocols)
    n_classes = {d: len(g["labels"].iloc[0]) for d, g in sel.groupby("dataset")} if not sel.empty else {}
    fills = []
    for i, row in out.iterrows():
        model = row["our_model"]
        if not isinstance(model, str) or not model:  # a quoted handcrafted row
            fills.append("")
            continue
        ours = n_classes.get(row["dataset"])
        if ours is not None and int(row["classes"]) != ours:
            for p in protocols:
                for k in NUMBERS:
                    out.at[i, f"{k}_{p}"] = float("nan")
                out.at[i, f"data_{p}"] = out.at[i, f"over_{p}"] = None
            out.at[i, "data"] = None
            out.at[i, "not_run"] = ",".join(protocols)
            fills.append(f"not run: our {row['dataset']} records have {ours} classes, this row {int(row['classes'])}")
            continue
        missing = [p for p in protocols if pd.isna(row[f"acc_{p}"])]
        fills.append(fill_command(profile, row["dataset"], model, missing) if missing else "")
    out["fill"] = fills
    return out


def confusion_beside_paper(number: int, records: pd.DataFrame, profile: str, variant: str = "bilen",
                           model: str = "learnet", prefer=("paper", "loso", "paper-leaky")):
    """Fig. ``number`` (7-10) as printed and our pooled confusion in the same class order
    and orientation (rows = the printed 'PREDICTED LABEL' axis, columns = 'TRUE LABEL';
    each column a true class, normalised to sum 1). Returns ``(paper, ours, protocol)``;
    ``ours`` is None when no record of the dataset exists (then ``protocol`` is None)."""
    printed = paper_figure(number)  # index true, columns predicted
    dataset = str(paper.table(f"fig{number}")["dataset"].iloc[0])
    paper_view = printed.T  # rows predicted, columns true: as printed
    names = [PAPER_CLASS_NAMES.get(c, c) for c in paper_view.columns]
    sel = pd.DataFrame()
    if not records.empty:
        sel = records[(records["profile"] == profile) & (records["variant"] == variant)
                      & (records["model"] == model) & (records["dataset"] == dataset)]
    for protocol in prefer:
        runs = sel[sel["protocol"] == protocol] if not sel.empty else sel
        if runs.empty:
            continue
        cm, labels = results.pooled_confusion(runs)
        pos = {c: i for i, c in enumerate(labels)}
        full = np.zeros((len(names), len(names)))
        for a, ta in enumerate(names):
            for b, tb in enumerate(names):
                if ta in pos and tb in pos:
                    full[a, b] = cm[pos[ta], pos[tb]]  # rows true, columns predicted
        rates = metrics.normalize_rows(full).T  # -> rows predicted, columns true
        ours = pd.DataFrame(rates, index=paper_view.index, columns=paper_view.columns)
        return paper_view, ours, protocol
    return paper_view, None, None


def figs_beside_paper(found: ResultRecords, model: str = "learnet") -> list[dict]:
    """Figs. 7-10 beside this profile's records (:func:`confusion_beside_paper`), one dict each:
    ``number``, ``dataset``, ``printed``, ``ours`` (None where not run) and ``protocol``."""
    figs = []
    for number in (7, 8, 9, 10):
        printed, ours, protocol = confusion_beside_paper(number, found.records, found.profile, found.variant, model)
        dataset = str(paper.table(f"fig{number}")["dataset"].iloc[0])
        figs.append({"number": number, "dataset": dataset, "printed": printed, "ours": ours, "protocol": protocol})
    return figs


def figs_shown(figs: list[dict]) -> str:
    """What each of :func:`figs_beside_paper` shows of ours: "Fig. 7: not run, Fig. 8: paper, ..."."""
    return ", ".join(f"Fig. {f['number']}: {f['protocol'] or 'not run'}" for f in figs)


# the results chapter (5): this profile's records and the paper profile's, beside the paper


@dataclass(frozen=True)
class ResultRecords:
    """What the results chapter puts beside the paper: this profile's run records and the
    ``paper`` profile's (the committed GPU runs; empty when the profile is ``paper`` itself),
    each with the data fingerprints of what its profile reads now (:func:`results.current_data`),
    and ``source``, the data this build reads (:func:`data_source`)."""

    profile: str
    variant: str
    source: str
    records: pd.DataFrame
    current: dict
    gpu: pd.DataFrame
    gpu_current: dict


def data_source(names) -> str:
    """The data the datasets ``names`` are read from: "synthetic twins", "licensed data" (every
    one placed in ``DATA_ROOT``) or which are licensed copies and which twins."""
    placed = [d for d in names if profiles.dataset_folder(d)[1]]
    if not placed:
        return "synthetic twins"
    if len(placed) == len(names):
        return "licensed data"
    return f"licensed copies of {', '.join(placed)} and the twins of the others"


def records_beside_paper(settings, records_dir=results.RESULTS_DIR) -> ResultRecords:
    """The records of ``settings``' profile under ``records_dir`` and the ``paper`` profile's
    under :data:`results.RESULTS_DIR` (an empty table where a folder is missing, or where the
    profile is ``paper``: its records are the first ones), with their current fingerprints."""
    records = results.load_records(Path(records_dir) / settings.name)
    gpu = results.load_records(results.RESULTS_DIR / "paper") if settings.name != "paper" else pd.DataFrame()
    return ResultRecords(settings.name, settings.variant, data_source(settings.datasets), records,
                         results.current_data(records, settings), gpu, results.current_data(gpu, "paper"))


def records_numbers(found: ResultRecords) -> dict:
    """The numbers the results chapter cites of its records: how many of each profile, and how
    many of them were not made on the data now in use (:func:`results.data_status`)."""
    other = sum(int(results.data_status(frame, current).isin(["other data", "no fingerprint"]).sum())
                for frame, current in ((found.records, found.current), (found.gpu, found.gpu_current))
                if not frame.empty)
    return {"n_records": len(found.records), "n_gpu_records": len(found.gpu), "n_other_data": other,
            "profile_name": found.profile, "data_source": found.source}


def paper_tables(name: str, found: ResultRecords) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Table ``name`` (``"table3"`` or ``"table4"``) beside this profile's records and beside the
    ``paper`` profile's (None where there are none): :func:`paper_table`, each with its data."""
    ours = paper_table(name, found.records, found.profile, found.variant, current=found.current)
    if found.gpu.empty:
        return ours, None
    return ours, paper_table(name, found.gpu, "paper", found.variant, current=found.gpu_current)


def _learnet(table: pd.DataFrame, dataset: str, classes: int | None = None) -> pd.Series:
    row = table[(table["model"] == "learnet") & (table["dataset"] == dataset)]
    return (row if classes is None else row[row["classes"] == classes]).iloc[0]


def _percent(value) -> str:
    return "not run" if pd.isna(value) else f"{float(value):.1f} %"


def table_numbers(t3: pd.DataFrame, t4: pd.DataFrame) -> dict:
    """The numbers the results chapter cites of Tables III and IV (:func:`paper_table`): how
    many cells of ours are filled, and LEARNet's under ``loso`` beside the paper's."""
    cells_run = int(sum(t[[f"acc_{p}" for p in PROTOCOLS]].notna().sum().sum() for t in (t3, t4)))
    casme2, smic2 = _learnet(t3, "casme2"), _learnet(t4, "smic_2class", classes=2)
    return {"cells_run": cells_run, "casme2_loso": _percent(casme2["acc_loso"]),
            "smic2_loso": _percent(smic2["acc_loso"]), "smic2_paper_acc": float(smic2["accuracy"]),
            "casme2_paper_acc": float(casme2["accuracy"])}


# our protocols as the tables of the results chapter name them (their names in the code: the keys)
PROTOCOL_LABELS = {"paper": "random split", "paper-leaky": "leaky split", "loso": "LOSO", "kfold": "k-fold"}
INTERVAL_OVER = {"test subjects": "by subject", "repeats": "by repeat", "folds": "by fold"}  # results.units
QUOTED_MARK = "\u00a0*"  # after a quoted method's name; the note under the table says who it quotes
OTHER_DATA_MARK = "\u00a0†"  # after a dataset whose records of ours were not all made on the data this build reads


def _key_columns(table: pd.DataFrame, quoted_mark: bool = True, classes: bool = True) -> pd.DataFrame:
    method = table["method"].astype(str)
    if quoted_mark:
        method = method.where(~table["quoted"].astype(bool), method + QUOTED_MARK)
    out = pd.DataFrame({"method": method, "dataset": table["dataset"]})
    if "subset" in table:
        out["subset"] = table["subset"]
    if classes:
        out["classes"] = table["classes"]
    return out


def interval_text(low, high, over=None) -> str:
    """A 95 % interval in percent as the tables print it: "[70.2, 82.9] by subject"; "no
    interval" where there is none (one unit)."""
    if pd.isna(low) or pd.isna(high):
        return "no interval"
    return f"[{low:.1f}, {high:.1f}]" + (f" {INTERVAL_OVER.get(over, over)}" if over else "")


def _interval_runs(low, high, runs: int, over=None) -> str:
    """The second line of a cell of ours: its 95 % interval and the runs behind it, small."""
    return f"<small>{interval_text(low, high, over)}, {runs}\u00a0run{'s' if runs != 1 else ''}</small>"


def _ours_cell(row: pd.Series, protocol: str, gpu: bool, profile_models=None) -> str:
    """One protocol's cell of ours, two lines: "76.6 (−8.6)" (accuracy, and ours minus the
    published number) over "[70.2, 82.9], 5 runs" (the 95 % interval and the runs behind it;
    what it resamples, the notes under the table say, :func:`beside_paper_notes`); "missing:
    <what>" where a run is missing, "not in this
    profile" where the profile's ``models`` (``profile_models``) leave the method out (VGG and
    ResNet at book size: a GPU's work, the ``paper`` profile's); "–" where we do not run the
    method (CNN-LSTN)."""
    acc = row[f"acc_{protocol}"]
    if not pd.isna(acc):
        return (f"{acc:.1f}\u00a0({signed(row[f'diff_{protocol}'], '{:+.1f}')})<br>"  # what it resamples: the notes
                + _interval_runs(row[f"low_{protocol}"], row[f"high_{protocol}"], int(row[f"runs_{protocol}"])))
    fill = str(row.get("fill") or "")
    if not fill:
        return "–"
    if fill.startswith("not run: "):  # our records of the dataset have another class count
        return f"missing: {int(row['classes'])}-class run"
    if gpu and row["our_model"] not in profiles.HANDCRAFTED:  # the handcrafted methods need no GPU
        return "missing: GPU run"
    return "not in this profile" if profile_models is not None and row["our_model"] not in profile_models else \
        "missing: run"


def styled_beside_paper(table: pd.DataFrame, profile_name: str | None = None):
    """A :func:`paper_table` as the chapter shows it, narrow enough to read on the page: the
    published accuracy (percent, 1 decimal) and, per protocol, ours (:func:`_ours_cell`: the
    accuracy and its signed difference from the published one, its 95 % interval and runs) or
    "missing: <what>" where a run is missing ("GPU run" for the ``paper`` profile); whether
    ours were made on the data now in use (a dataset marked †, where not: the notes say how
    many records). Quoted rows are marked * (the notes under it, :func:`beside_paper_notes`);
    UF1 and UAR are a table of their own (:func:`styled_scores`) -> a pandas ``Styler``."""
    gpu = profile_name == "paper"
    models = profiles.load(profile_name).models if profile_name in profiles.PROFILES else None
    out = _key_columns(table, classes=False)   # a dataset's classes: the notes (and the UF1/UAR table)
    out["published (%)"] = table["accuracy"].map(lambda v: f"{float(v):.1f}")
    for p in PROTOCOLS:
        out[f"ours, {PROTOCOL_LABELS[p]} (%)"] = [_ours_cell(r, p, gpu, models) for _, r in table.iterrows()]
    other = table["data"].fillna("").astype(str).str.startswith("other")
    out["dataset"] = out["dataset"].where(~other.to_numpy(), out["dataset"] + OTHER_DATA_MARK)   # the notes say
    return out.style.hide(axis="index")


def _resampled_note(table: pd.DataFrame) -> str:
    """What the intervals of a table's cells resample, per protocol, from its ``over_<p>`` columns."""
    said = []
    for p in PROTOCOLS:
        col = table.get(f"over_{p}")
        kinds = sorted({str(v) for v in col.dropna()}) if col is not None else []
        if kinds:
            said.append(f"{PROTOCOL_LABELS[p]}: " + " or ".join(INTERVAL_OVER.get(k, k).removeprefix("by ")
                                                                for k in kinds))
    return ("The intervals resample " + "; ".join(said) + " (results.units; none from fewer than "
            f"{results.MIN_UNITS})." if said else "")


def beside_paper_notes(table: pd.DataFrame) -> str:
    """The notes under a :func:`styled_beside_paper` table (Markdown): how to read our cells,
    and whom each quoted row (marked *) quotes ("LBP-TOP-SVM, quoted: [6] Zhao ...")."""
    names = ", ".join(f"{PROTOCOL_LABELS[p]} = `{p}`" for p in PROTOCOLS)
    lines = [f"Ours ({names}): accuracy (the mean over repeats of each repeat's folds pooled), in brackets ours "
             "minus the published one; under it the 95 % bootstrap interval and the runs (folds x repeats) behind "
             "the cell. " + _resampled_note(table)
             + " Classes: " + ", ".join(f"{d} {int(k)}" for d, k in
                                        dict.fromkeys(zip(table["dataset"], table["classes"]))) + "."]
    data = table["data"].fillna("").astype(str) if "data" in table else pd.Series([], dtype=str)
    other = table[data.str.startswith("other")]
    if len(other):
        lines.append("† Not all of the row's records of ours were made on the data this build reads (their data "
                     "fingerprint differs, or they predate fingerprints): "
                     + "; ".join(f"{m} on {d}, {x.replace('other ', '')} records" for m, d, x in
                                 zip(other["method"], other["dataset"], other["data"])) + ".")
    elif data.eq("current").any():
        lines.append("Every record of ours in this table was made on the data this build reads (by its data "
                     "fingerprint).")
    q = table[table["quoted"].astype(bool)]
    if len(q):
        ran = q[q["model"].fillna("").astype(str) != ""]
        quoted = "; ".join(f"{m}: {r}" for m, r in dict.fromkeys(zip(q["method"], q["reference"])))
        lines.append(f"\\* Published by the paper from the original publication, under that publication's protocol "
                     f"({quoted}). " + (f"We run {', '.join(dict.fromkeys(ran['method']))} ourselves "
                                        "(learnet_lite.handcrafted), under the same folds as the networks: the "
                                        "columns of ours. " if len(ran) else "")
                     + ("CNN-LSTN (a CNN with a long short-term memory over the frames) we do not implement: "
                        "its published number stands alone." if (q["method"] == "CNN-LSTN").any() else ""))
    return "\n\n".join(lines)


def styled_scores(table: pd.DataFrame):
    """UF1 and UAR of ours under ``loso`` (pooled over the folds, 3 decimals) with the runs,
    for the rows of a :func:`paper_table` that have them -> a ``Styler``, or None when none has."""
    ran = table[table["acc_loso"].notna()] if "acc_loso" in table else table.iloc[:0]
    if ran.empty:
        return None
    out = _key_columns(ran, quoted_mark=False)
    out["UF1, LOSO"] = ran["uf1_loso"].map(lambda v: f"{v:.3f}")
    out["UAR, LOSO"] = ran["uar_loso"].map(lambda v: f"{v:.3f}")
    out["runs"] = ran["runs_loso"].astype(int)
    return out.style.hide(axis="index")


def fill_all_command(table: pd.DataFrame, profile_name: str) -> str | None:
    """One command that fills every cell of a :func:`paper_table` not run (``reproduce`` skips
    what is recorded; ``--device cuda`` for the ``paper`` profile), or None when all ran."""
    missing = table[table["fill"].fillna("").astype(str).str.startswith("learnet-lite")]
    if profile_name in profiles.PROFILES:  # the methods the profile leaves out are another profile's cells
        missing = missing[missing["our_model"].isin(profiles.load(profile_name).models)]
    if missing.empty:
        return None
    protocols = [p for p in PROTOCOLS if missing[f"acc_{p}"].isna().any()]
    command = fill_command(profile_name, " ".join(dict.fromkeys(missing["dataset"])),
                           " ".join(dict.fromkeys(missing["our_model"])), protocols)
    return command + (" --device cuda" if profile_name == "paper" else "")


def show_beside_paper(table: pd.DataFrame, profile_name: str) -> None:
    """Display a :func:`paper_table` (:func:`styled_beside_paper`), the notes under it
    (:func:`beside_paper_notes`), UF1 and UAR under ``loso`` (:func:`styled_scores`), then the
    one command that fills every cell missing a run (:func:`fill_all_command`)."""
    from IPython.display import Markdown, display

    display(styled_beside_paper(table, profile_name), Markdown(beside_paper_notes(table)))
    scores = styled_scores(table)
    if scores is not None:
        display(Markdown("UF1 and UAR of ours under `loso`, pooled over the folds:"), scores)
    else:
        display(Markdown("No `loso` run of ours in this table yet, so no UF1 and UAR."))
    command = fill_all_command(table, profile_name)
    if command:
        display(Markdown(f"Cells marked *missing* are filled by `{command}`."))


def show_paper_profile(table: pd.DataFrame | None, profile_name: str) -> None:
    """Display a table beside the ``paper`` profile's records (:func:`show_beside_paper`), or
    say why there is none: this build's profile is ``paper``, or no such records exist."""
    from IPython.display import Markdown, display

    if table is not None:
        show_beside_paper(table, "paper")
    elif profile_name == "paper":
        display(Markdown("This build's own profile is `paper`: the table above."))
    else:
        display(Markdown("No `paper`-profile records in this build: the command under the table above, "
                         "with `--profile paper --device cuda`, makes them."))


# the training and protocols chapters (4, 6): clips, runs, protocols


def chance_levels(prep) -> tuple[float, float]:
    """The chance levels of a prepared dataset (:func:`experiment.prepare`): the accuracy of
    always predicting its largest class, and the UAR of guessing among its classes."""
    counts = prep.df["emotion"].value_counts()
    return float(counts.max() / counts.sum()), 1.0 / len(prep.classes)


def clip_numbers(prep, settings) -> dict:
    """The numbers the training chapter cites of its clips: counts, class names, chance levels
    (:func:`chance_levels`), the paper's clip count (Table II; SMIC's two-class set from the text)
    and what the data is."""
    majority, uniform = chance_levels(prep)
    dataset = prep.dataset
    note = (f"a synthetic twin whose action units move by {settings.twin_amplitude:g} px at their apex"
            if profiles.using_synthetic_data(dataset) else "the licensed release")
    return {"n_clips": len(prep.df), "n_subjects": int(prep.df["subject"].nunique()),
            "n_classes": len(prep.classes), "chance_majority": majority, "chance_uniform": uniform,
            "dataset_name": dataset, "class_names": ", ".join(map(str, prep.classes)),
            "paper_clips": int(paper.table("table2").set_index("emotion").loc["total", dataset]),
            "paper_clips_source": "the text of Sec. IV-B-4" if dataset == "smic_2class" else "Table II",
            "data_note": note}


def run_numbers(runs: pd.DataFrame, settings) -> dict:
    """The numbers the training chapter cites of its runs (records of one dataset, protocol and
    model, :func:`results.read_records`): folds, epochs, training images, minutes, devices."""
    return {"n_folds": int(runs["n_folds"].max()), "epochs": settings.epochs,
            "train_images": int(runs["train_images"].sum()),
            "minutes": round(float(runs["wall_time_s"].sum()) / 60, 2),
            "device_used": ",".join(sorted(set(runs["device"])))}


def subject_numbers(runs: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Accuracy by test subject of one set of runs (:func:`results.units`: each subject's test
    clips pooled over the runs) and the numbers the training chapter cites of it: how many
    subjects, the lowest and highest subject's accuracy, and the 95 % interval of the pooled
    accuracy over subjects (:func:`metrics.bootstrap_interval`; NaN with fewer than
    :data:`results.MIN_UNITS`). Empty where the records keep no per-image predictions."""
    unit, over = results.units(runs)
    if over != "test subjects":
        return pd.DataFrame(), {"n_test_subjects": 0, "subject_low": float("nan"), "subject_high": float("nan"),
                                "subject_sentence": "These records were made before records kept each test "
                                                    "image's prediction, so they cannot be split by subject; "
                                                    "re-run them with --force to see it."}
    unit = unit.assign(accuracy=unit["correct"] / unit["total"])
    lo, hi = (metrics.bootstrap_interval(unit["correct"], unit["total"]) if len(unit) >= results.MIN_UNITS
              else (float("nan"), float("nan")))
    sentence = (f"Over {len(unit)} test subjects, accuracy ranges from {unit['accuracy'].min():.2f} to "
                f"{unit['accuracy'].max():.2f}; drawing the subjects again (a bootstrap over the unit the LOSO "
                "protocol holds out) puts the pooled accuracy's 95 % interval at "
                + (f"{lo:.2f} to {hi:.2f}." if np.isfinite(lo) else
                   f"nothing: {len(unit)} subjects are fewer than the {results.MIN_UNITS} an interval needs."))
    return unit, {"n_test_subjects": len(unit), "subject_low": lo, "subject_high": hi, "subject_sentence": sentence}


RUN_COLUMNS = {"seed": "seed", "fold": "fold", "test_subject": "test subject", "train_clips": "train clips",
               "train_images": "train images", "test_clips": "test clips", "accuracy": "accuracy",
               "device": "device", "wall_time_s": "time (s)"}


def style_runs(runs: pd.DataFrame):
    """The training chapter's table of its runs (one record per fold, :func:`results.read_records`):
    :data:`RUN_COLUMNS` (those the records have) with headers that wrap, accuracy to 3
    decimals, seconds to 1, no index."""
    shown = runs[[c for c in RUN_COLUMNS if c in runs]].rename(columns=RUN_COLUMNS)
    wrap = {"test subject": lambda v: str(v).replace("+", "+<wbr>")}  # grouped subjects break after a +
    return shown.style.format({"accuracy": "{:.3f}", "time (s)": "{:.1f}", **wrap}).hide(axis="index")


def near_copies(folds: dict) -> pd.DataFrame:
    """Per protocol (protocol -> its folds, :func:`experiment.folds`): the test images, those
    with a copy of their own clip in training and their share, and the subjects on both sides
    of the split (mean per fold), from each fold's ``near_duplicates`` info."""
    rows = []
    for protocol, fs in folds.items():
        dup = [f.info["near_duplicates"] for f in fs]
        test = sum(d["test_images"] for d in dup)
        copied = sum(d["test_images_with_copy_in_train"] for d in dup)
        rows.append({"protocol": protocol, "folds": len(fs), "test images": test, "with a copy in training": copied,
                     "share": copied / test,
                     "subjects on both sides (mean per fold)":
                         sum(d["subjects_on_both_sides"] for d in dup) / len(dup)})
    return pd.DataFrame(rows).set_index("protocol")


def near_copy_numbers(dups: pd.DataFrame, settings) -> dict:
    """The numbers the protocols chapter cites of :func:`near_copies`, and the augmented copies
    per clip of ``settings``."""
    both = "subjects on both sides (mean per fold)"
    return {"leaky_share": float(dups.loc["paper-leaky", "share"]), "paper_share": float(dups.loc["paper", "share"]),
            "loso_share": float(dups.loc["loso", "share"]), "paper_subjects_both": float(dups.loc["paper", both]),
            "loso_subjects_both": float(dups.loc["loso", both]), "kfold_share": float(dups.loc["kfold", "share"]),
            "kfold_subjects_both": float(dups.loc["kfold", both]), "kfold_folds": int(settings.kfold_folds),
            "copies": int(augment.Options.from_profile(settings).copies_per_image)}


APEX_RUN = "loso, apex frame"  # the control run of the protocols chapter: the apex frame, no motion


def protocol_scores(runs: dict, apex=None) -> pd.DataFrame:
    """One row per run (name -> its record paths; ``apex``: the paths of the apex-frame run,
    named :data:`APEX_RUN`): folds and the scores of its folds pooled."""
    rows = []
    for name, paths in {**runs, **({APEX_RUN: apex} if apex is not None else {})}.items():
        cm, _ = results.pooled_confusion(results.read_records(paths))
        rows.append({"run": name, "folds": len(paths), **metrics.scores_from_confusion(cm)})
    return pd.DataFrame(rows).set_index("run")


def score_numbers(scores: pd.DataFrame, prep) -> dict:
    """The numbers the protocols chapter cites of :func:`protocol_scores` and the chance levels
    of the prepared dataset (:func:`chance_levels`)."""
    chance, chance_uar = chance_levels(prep)
    out = {}
    for name, key in (("paper-leaky", "leaky"), ("paper", "paper"), ("loso", "loso"), ("kfold", "kfold"),
                      (APEX_RUN, "apex")):
        out.update({f"acc_{key}": float(scores.loc[name, "accuracy"]), f"uar_{key}": float(scores.loc[name, "uar"]),
                    f"uf1_{key}": float(scores.loc[name, "uf1"])})
    return {**out, "chance": chance, "chance_uar": chance_uar}


def leak_gain(records: pd.DataFrame, variant: str) -> pd.DataFrame:
    """Mean test accuracy under ``paper`` and ``paper-leaky`` per (dataset, model) of ``records``
    (the ``paper`` profile's), over the repeats (seeds) run under both, so that each pair shares
    its split seed: ``repeats``, ``paper``, ``paper-leaky`` and ``leak gain`` (the difference).
    Empty where no repeat ran under both."""
    if records.empty:
        return pd.DataFrame()
    r = records[records["protocol"].isin(["paper", "paper-leaky"]) & (records["variant"] == variant)]
    per_seed = r.groupby(["dataset", "model", "seed", "protocol"])["accuracy"].mean().unstack("protocol")
    if not {"paper", "paper-leaky"} <= set(per_seed.columns):
        return pd.DataFrame()
    per_seed = per_seed.dropna(subset=["paper", "paper-leaky"])
    gain = per_seed.groupby(["dataset", "model"]).agg(
        repeats=("paper", "size"), paper=("paper", "mean"), paper_leaky=("paper-leaky", "mean"))
    gain["leak gain"] = gain["paper_leaky"] - gain["paper"]
    return gain.rename(columns={"paper_leaky": "paper-leaky"})


def leak_sentence(gain: pd.DataFrame, records: pd.DataFrame) -> str:
    """The protocols chapter's sentence on :func:`leak_gain`: in how many cells ``paper-leaky``
    scores higher, by how much, on which devices (the records' ``device_name``); or the command
    that makes the runs where there are none."""
    if gain.empty:
        return ("No paper-profile records of both protocols are present: "
                "learnet-lite reproduce --profile paper --device cuda --protocols paper paper-leaky "
                "--models learnet resnet18 makes them.")
    gains = gain["leak gain"]
    devices = sorted({results.read(p)["extra"].get("device_name") for p in records["path"]} - {None})
    return (f"Over the {int(gain['repeats'].sum())} repeats run under both protocols, paper-leaky scores "
            f"higher than paper in {int((gains > 0).sum())} of {len(gains)} (dataset, model) cells, by "
            f"{gains.mean():+.3f} on average (from {gains.min():+.3f} to {gains.max():+.3f})"
            + (f"; the runs ran on {', '.join(devices)}." if devices else "."))


# the sentences chapters 4-6 glue: the settings of a page, and what the records show


def _beside_paper(ours, paper_value, key: str) -> str:
    """`` (the paper: <its value>, <its section>)`` where a setting differs from the paper's."""
    if ours == paper_value:
        return ""
    where = {r["setting"]: r["paper"] for r in profiles.Profile.describe()}.get(key)
    return f" (the paper: {paper_value}, {where.split(':')[0]})" if where else f" (the paper: {paper_value})"


def profile_short(settings) -> str:
    """A profile's training in a few words: "10 epochs, 6 copies per clip, 1 repeat"."""
    copies = augment.Options.from_profile(settings).copies_per_image
    return (f"{settings.epochs} epochs, {copies} copies per clip, {settings.repeats} "
            f"repeat{'s' if settings.repeats != 1 else ''}")


def page_settings(settings, datasets=None) -> str:
    """The "Settings of this page" sentence of a chapter run under ``settings`` (a
    :class:`profiles.Profile`) on ``datasets`` (None: the profile's): the profile, the data and
    the twins' amplitude, epochs, augmented copies per training clip, repeats and LOSO folds,
    each beside the paper's value where it differs (the :class:`profiles.Profile` defaults are
    the paper's, Sec. IV; :meth:`profiles.Profile.describe` names where the paper states each)."""
    names = list(datasets) if datasets is not None else list(settings.datasets)
    paper_ = profiles.Profile(name="paper")
    source = data_source(names)
    data = source if source != "licensed data" else "the licensed releases"
    if any(not profiles.dataset_folder(d)[1] for d in names):
        data += (f", the twins' action units moving by {settings.twin_amplitude:g} px at their apex"
                 " (the paper: the licensed releases)")
    ours, theirs = augment.Options.from_profile(settings), augment.Options.from_profile(paper_)
    angles = ", ".join(f"{a:g}°" for a in ours.angles)
    how = ((", each equalized" if settings.aug_equalization else "")
           + (", as is and flipped" if settings.aug_flip else ""))
    copies = (f"{ours.copies_per_image} augmented copies per training clip (rotations of {angles}{how})"
              + _beside_paper(ours.copies_per_image, theirs.copies_per_image, "aug_angles"))
    if settings.loso_groups is None:
        folds = "LOSO with one fold per subject (the paper reports no LOSO)"
    else:
        folds = (f"LOSO over {settings.loso_groups} groups of subjects, each left out once (the paper profile: "
                 f"one fold per subject; the paper reports no LOSO)")
    return (f"profile {settings.name}; data: {data}; {settings.epochs} epochs"
            + _beside_paper(settings.epochs, paper_.epochs, "epochs")
            + f"; {copies}; {settings.repeats} repeat{'s' if settings.repeats != 1 else ''}"
            + _beside_paper(settings.repeats, paper_.repeats, "repeats")
            + f"; {folds}.")


def chapter_settings(settings, chapter: int) -> str:
    """The "Settings of this page" sentence of chapters 1-3, which train no grid: the profile,
    the data they read (CASME II's, licensed or its twin at the profile's amplitude) and the
    settings of the chapter itself, beside the paper's where it states one."""
    names = list(settings.datasets) if chapter == 2 else ["casme2"]   # chapter 2 reads them all
    twins = [d for d in names if not profiles.dataset_folder(d)[1]]
    if chapter == 2:
        data = data_source(names)
    else:
        data = "the synthetic twin of CASME II" if twins else "the licensed CASME II release"
    if twins:
        data += (f" (action units moving by {settings.twin_amplitude:g} px at their apex"
                 + (f"; {settings.twin_scale:g} of each release's clips" if settings.twin_scale < 1 else "") + ")")
    paper_ = profiles.Profile(name="paper")
    own = {1: f"exact rank pooling (Eq. 2) on frames downsampled to at most {settings.exact_max_side} px",
           2: (f"{settings.data_subjects} faces shown; the amplitude dial at "
               f"{', '.join(f'{a:g}' for a in settings.data_dial)} px; the frame-against-motion check on "
               f"{settings.data_honesty_subjects} subjects"),
           3: (f"the brief training run of Figs. 3-6: {settings.model_epochs} epochs"
               + _beside_paper(settings.model_epochs, paper_.model_epochs, "model_epochs")
               + f", batch {settings.batch_size}, learning rate {settings.lr:g}, momentum {settings.momentum:g}")}
    if chapter not in own:
        raise ValueError(f"chapter {chapter}: chapter_settings covers chapters 1-3 (the others: page_settings)")
    return f"profile {settings.name}; data: {data}; {own[chapter]}."


def book_leak_sentence(numbers: dict, settings, gain: pd.DataFrame, dataset: str, model: str) -> str:
    """The protocols chapter's sentence on its own runs (``numbers``: :func:`score_numbers`):
    whether ``paper-leaky`` scored above ``paper`` at ``settings``, beside the ``paper``
    profile's mean leak gain on the same dataset and model (``gain``: :func:`leak_gain`)."""
    leaky, split = numbers["acc_leaky"], numbers["acc_paper"]
    diff = leaky - split
    runs = f"This build's own runs of the comparison ({profile_short(settings)}, one split)"
    if diff <= 0:
        return (f"{runs} show no leak: paper-leaky scored {leaky:.3f} against paper's {split:.3f} ({diff:+.3f}); "
                "at these settings the near-copies did not raise the accuracy on this dataset.")
    text = f"{runs} show a leak too: paper-leaky {leaky:.3f} against paper {split:.3f} ({diff:+.3f})"
    if (dataset, model) in gain.index:
        g = float(gain.loc[(dataset, model), "leak gain"])
        size = "smaller than" if diff < g else "as large as or larger than"
        return text + f", {size} the paper profile's mean gain for {model} on {dataset} ({g:+.3f})."
    return text + "."


def model_against_learnet(table3: pd.DataFrame, table4: pd.DataFrame, rival: str = "resnet18",
                          protocol: str = "paper") -> dict:
    """Where ``rival`` scores at least LEARNet's accuracy under ``protocol`` in the tables of
    :func:`paper_tables` (ours, mean over repeats), per dataset run with both, and the paper's
    own comparison of the two rows: ``n_both``, ``n_rival_ge``, ``n_rival_gt``, ``n_paper_learnet_wins``
    (of the datasets with both of ours), ``cells`` (dataset -> (rival's, LEARNet's accuracy))."""
    both = pd.concat([table3, table4], ignore_index=True)
    col = f"acc_{protocol}"
    cells, paper_wins = {}, 0
    if both.empty or "dataset" not in both:
        return {"n_both": 0, "n_rival_ge": 0, "n_rival_gt": 0, "n_paper_learnet_wins": 0, "cells": cells}
    for dataset, rows in both.groupby("dataset", sort=False):
        mine = rows[rows["our_model"] == "learnet"]
        theirs = rows[rows["our_model"] == rival]
        if mine.empty or theirs.empty or col not in rows or pd.isna(mine[col].iloc[0]) or pd.isna(theirs[col].iloc[0]):
            continue
        cells[dataset] = (round(float(theirs[col].iloc[0]), 2), round(float(mine[col].iloc[0]), 2))  # as tabulated
        paper_wins += bool(mine["accuracy"].iloc[0] > theirs["accuracy"].iloc[0])
    return {"n_both": len(cells), "n_rival_ge": sum(r >= m for r, m in cells.values()),
            "n_rival_gt": sum(r > m for r, m in cells.values()), "n_paper_learnet_wins": paper_wins,
            "cells": cells}


def rival_sentence(found: ResultRecords, table3: pd.DataFrame, table4: pd.DataFrame, rival: str = "resnet18",
                   protocol: str = "paper") -> str:
    """The results chapter's sentence on :func:`model_against_learnet` for the ``paper``
    profile's tables: on how many datasets ``rival`` scores at least LEARNet's accuracy, and
    whether that is the reverse of the paper; on twins, a word that this measures the pipeline."""
    c = model_against_learnet(table3, table4, rival, protocol)
    n = c["n_both"]
    if n == 0:
        return (f"No dataset has paper-profile records of both LEARNet and {rival} under {protocol}, "
                "so the two cannot be compared at the paper's settings here.")
    each = "; ".join(f"{d} {r:.2f} % against {m:.2f} %" for d, (r, m) in c["cells"].items())
    ge, gt = c["n_rival_ge"], c["n_rival_gt"]
    every = "every one" if ge == n else f"{ge}"
    name = METHOD_NAMES.get(rival, rival)
    text = (f"At the paper profile's settings, under the {protocol} split, {name} scores at least LEARNet's "
            f"accuracy on {every} of the {n} datasets run with both (higher on {gt}, equal on {ge - gt}): {each}")
    if c["n_paper_learnet_wins"] == n and ge == n:
        text += ": the reverse of the paper, which reports LEARNet above ResNet on each of these datasets."
    elif c["n_paper_learnet_wins"] == n and ge > 0:
        text += ". The paper reports LEARNet above ResNet on each of these datasets."
    else:
        text += "."
    if found.source != "licensed data":
        text += (" These numbers come from synthetic twins: they measure this pipeline (the twins, their motion,"
                 " the training settings), not the paper's claim about the real datasets.")
    return text


def split_against_loso(table3: pd.DataFrame, table4: pd.DataFrame, model: str = "learnet") -> str:
    """Where this profile's random split (``paper``) scores below ``loso`` for ``model`` in the
    tables of :func:`paper_tables`, over the datasets run under both."""
    both = pd.concat([table3, table4], ignore_index=True)
    has = not both.empty and {"our_model", "acc_paper", "acc_loso"} <= set(both.columns)
    rows = both[both["our_model"] == model].dropna(subset=["acc_paper", "acc_loso"]) if has else both
    if rows.empty:
        return f"No dataset was run under both the random split and LOSO with {model} in this build."
    below = rows[rows["acc_paper"] < rows["acc_loso"]]
    each = "; ".join(f"{r.dataset}: {r.acc_paper:.1f} % against {r.acc_loso:.1f} %" for r in rows.itertuples())
    return (f"In this build's own runs the random split (paper), which puts a test subject's other clips in "
            f"training, scores below LOSO on {len(below)} of the {len(rows)} dataset(s) run under both ({each}). "
            "One repeat of one random split is a noisy measure; the paper profile averages 5.")


def empty_columns_sentence(figs: list[dict]) -> str:
    """Which of our Figs. 7-10 (:func:`figs_beside_paper`) have an all-zero column: a true class
    with no test clip in the runs pooled there, so its column shows nothing about that class."""
    found = []
    for f in figs:
        ours = f["ours"]
        if ours is None:
            continue
        empty = [str(c) for c in ours.columns if not ours[c].to_numpy(dtype=float).any()]
        if empty:
            found.append(f"Fig. {f['number']} ({f['dataset']}, {f['protocol']}) has an all-zero column for "
                         f"{' and '.join(empty)}: no clip of {'that class' if len(empty) == 1 else 'those classes'} "
                         "was among the test clips pooled there, so the column says nothing about "
                         f"{'it' if len(empty) == 1 else 'them'}")
    if not found:
        return "Every class has test clips in each of our matrices."
    return "Of ours, " + "; ".join(found) + "."


# --- What the evidence supports (results chapter): paired comparisons, VGG against the largest class ----------

METHOD_NAMES = {"learnet": "LEARNet", "resnet18": "ResNet-18", "vgg16": "VGG-16", "vgg19": "VGG-19",
                "lbptop-svm": "LBP-TOP-SVM", "lbptop-elm": "LBP-TOP-ELM", "mdmo-svm": "MDMO-SVM"}


def published_rows() -> pd.DataFrame:
    """Tables III and IV as transcribed, one frame: ``table``, ``paper_dataset`` (as printed),
    ``dataset`` (our key: Table IV's 2-class rows -> ``smic_2class``), ``our_model`` (the paper's
    "resnet" -> ``resnet18``; None for CNN-LSTN) and the published ``accuracy``. A copy: the
    files are read once (:func:`published` asks for them once per cell)."""
    return _published_rows().copy()


@functools.lru_cache(maxsize=1)
def _published_rows() -> pd.DataFrame:
    frames = []
    for name in ("table3", "table4"):
        rows = paper.table(name).assign(table=name)
        rows["paper_dataset"] = rows["dataset"]
        rows["dataset"] = our_datasets(rows)
        rows["our_model"] = [PAPER_MODEL_ALIASES.get(m, m) if isinstance(m, str) and m else None for m in rows["model"]]
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def published(model: str, dataset: str) -> float:
    """The paper's accuracy (percent) for our ``model`` on our ``dataset`` key; NaN where it printed none."""
    rows = _published_rows()
    hit = rows[(rows["our_model"] == model) & (rows["dataset"] == dataset)]
    return float(hit["accuracy"].iloc[0]) if len(hit) else float("nan")


def claimed_margins() -> pd.DataFrame:
    """The margins the paper's text claims (``data/paper/claims.csv``), with our dataset key and
    rival name, beside the margins its own Tables III-IV give (``table_margin``, computed)."""
    claims = paper.table("claims")
    claims["dataset"] = our_datasets(claims)
    claims["rival"] = claims["rival"].map(lambda m: PAPER_MODEL_ALIASES.get(m, m))
    claims["table_margin"] = [round(published(m, d) - published(r, d), 2)
                              for m, d, r in zip(claims["method"], claims["dataset"], claims["rival"])]
    return claims


def _selected(records: pd.DataFrame, profile: str, variant: str) -> pd.DataFrame:
    if records.empty:
        return records
    return records[(records["profile"] == profile)
                   & ((records["variant"] == variant) | (records["variant"] == profiles.HANDCRAFTED_VARIANT))]


def paired_table(records: pd.DataFrame, profile: str, variant: str = "bilen", model: str = "learnet",
                 protocols=PROTOCOLS, rivals=None) -> pd.DataFrame:
    """``model`` against every other method run on the same splits, per dataset and protocol
    (:func:`results.paired`): ours, the difference in points with its 95 % paired-bootstrap
    interval, what it resamples and the runs matched, beside the margin the paper's tables
    give (``paper_margin``: its ``model`` minus its rival, NaN where it printed no rival) and
    the one its text claims (``claimed``, ``data/paper/claims.csv``, where there is one).
    ``rivals``: only these methods (None: every other method of the records)."""
    sel = _selected(records, profile, variant)
    claims = claimed_margins()
    claimed = {(r.dataset, r.rival): r.margin for r in claims.itertuples() if r.method == model}
    rows = []
    if sel.empty:
        return pd.DataFrame(rows)
    order = {m: i for i, m in enumerate(profiles.CHOICES["models"])}
    for (dataset, protocol), group in sel.groupby(["dataset", "protocol"], sort=False):
        if protocol not in protocols:
            continue
        ours = group[group["model"] == model]
        if ours.empty:
            continue
        others = set(group["model"]) - {model}
        for rival in sorted(others if rivals is None else others & set(rivals), key=lambda m: order.get(m, 99)):
            try:
                out = results.paired(ours, group[group["model"] == rival])
            except ValueError:  # no common split: not comparable here
                continue
            rows.append({"dataset": dataset, "protocol": protocol, "rival": rival,
                         "difference": 100 * out["difference"], "low": 100 * out["low"], "high": 100 * out["high"],
                         "over": out["over"], "units": out["units"], "runs": out["runs"],
                         "paper_margin": published(model, dataset) - published(rival, dataset),
                         "claimed": claimed.get((dataset, rival), float("nan"))})
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["protocol"] = pd.Categorical(frame["protocol"], categories=list(protocols), ordered=True)
        frame = frame.sort_values(["protocol", "dataset"], kind="stable").reset_index(drop=True)
        frame["protocol"] = frame["protocol"].astype(str)
    return frame


def verdict(low, high) -> str:
    """What an interval of a difference A − B says: "A ahead" (all above 0), "A behind" (all
    below), "not resolved" (it holds 0) or "too few units" (no interval: fewer than results.MIN_UNITS)."""
    if pd.isna(low) or pd.isna(high):
        return "too few units"
    return "ahead" if low > 0 else "behind" if high < 0 else "not resolved"


def styled_paired(frame: pd.DataFrame, model: str = "learnet"):
    """A :func:`paired_table` as the chapter shows it -> a ``Styler`` (None when empty)."""
    if frame.empty:
        return None
    name = METHOD_NAMES.get(model, model)
    out = pd.DataFrame({
        "protocol": frame["protocol"].map(PROTOCOL_LABELS), "dataset": frame["dataset"],
        "rival": frame["rival"].map(lambda m: METHOD_NAMES.get(m, m)),
        f"{name} − rival, ours (points)": [signed(d, "{:+.1f}") for d in frame["difference"]],
        "95 % interval": [interval_text(lo, hi, over) for lo, hi, over in zip(frame["low"], frame["high"],
                                                                            frame["over"])],
        "verdict": [verdict(lo, hi) for lo, hi in zip(frame["low"], frame["high"])],
        "runs": frame["runs"].astype(int),
        "paper's tables": frame["paper_margin"].map(lambda v: "–" if pd.isna(v) else signed(v, "{:+.2f}")),
        "paper's text": frame["claimed"].map(lambda v: "–" if pd.isna(v) else f"+{v:.2f}"),
    })
    return out.style.hide(axis="index")


def vgg_against_majority() -> pd.DataFrame:
    """The paper's VGG-16/-19 cells beside the share of the largest class in its own Table II
    (``data/paper/table2.csv``; the 2-class SMIC set from the text): what a network that always
    answers that class scores. ``same_as``: the other cells of Tables III-IV that print exactly
    the same number (a copied cell, or chance in disguise)."""
    counts = paper.table("table2").set_index("emotion")
    rows = published_rows()
    out = []
    for r in rows[rows["our_model"].isin(["vgg16", "vgg19"])].itertuples():
        column = counts[r.dataset].drop("total").dropna()
        total = float(counts.loc["total", r.dataset])
        largest = column.idxmax()
        same = rows[(rows["accuracy"] == r.accuracy) & ~((rows["method"] == r.method) & (rows["dataset"] == r.dataset))]
        out.append({"method": r.method, "dataset": r.dataset, "classes": int(r.classes), "published": r.accuracy,
                    "largest_class": largest, "largest_clips": int(column.max()), "clips": int(total),
                    "largest_share": 100 * column.max() / total,
                    "difference": r.accuracy - 100 * column.max() / total,
                    "same_as": ", ".join(f"{m} {d}" for m, d in zip(same["method"], same["dataset"]))})
    return pd.DataFrame(out)


def styled_vgg(frame: pd.DataFrame):
    """:func:`vgg_against_majority` as the chapter shows it -> a ``Styler``."""
    out = pd.DataFrame({
        "method": frame["method"], "dataset": frame["dataset"], "classes": frame["classes"],
        "published (%)": frame["published"].map(lambda v: f"{v:.2f}"),
        "largest class (Table II)": [f"{c} {n}/{t}" for c, n, t in zip(frame["largest_class"], frame["largest_clips"],
                                                                      frame["clips"])],
        "its share (%)": frame["largest_share"].map(lambda v: f"{v:.2f}"),
        "published − share": frame["difference"].map(lambda v: signed(round(v, 2) + 0.0, "{:+.2f}")),
        "same number as": frame["same_as"].replace("", "–"),
    })
    return out.style.hide(axis="index")


def records_data(records: pd.DataFrame) -> str:
    """What a set of records was made on, read from the records themselves: "synthetic twins",
    "licensed data" or "licensed data and synthetic twins" ("no records" when empty)."""
    if records.empty:
        return "no records"
    kinds = {True if pd.isna(s) else bool(s) for s in records["synthetic"]}   # (results.read_records)
    return {frozenset({True}): "synthetic twins", frozenset({False}): "licensed data"}.get(
        frozenset(kinds), "licensed data and synthetic twins")


def _verdicts(pairs: pd.DataFrame) -> dict:
    said = [verdict(lo, hi) for lo, hi in zip(pairs["low"], pairs["high"])] if len(pairs) else []
    return {v: said.count(v) for v in ("ahead", "behind", "not resolved", "too few units")}


def _pairs_sentence(pairs: pd.DataFrame, what: str, data: str) -> str:
    if pairs.empty:
        return f"No records of LEARNet and {what} on the same splits in this build."
    v = _verdicts(pairs)
    few = f", {v['too few units']} with too few units for an interval" if v["too few units"] else ""
    text = (f"On the {data}, LEARNet against {what} on the same splits, in {len(pairs)} comparisons: ahead in "
            f"{v['ahead']} (the whole 95 % interval above 0), behind in {v['behind']}, not resolved in "
            f"{v['not resolved']}{few}.")
    for word in ("ahead", "behind"):
        rows = [r for r in pairs.itertuples() if verdict(r.low, r.high) == word]
        if rows:
            text += (f" {word.capitalize()}: " + "; ".join(
                f"{METHOD_NAMES.get(r.rival, r.rival)} on {r.dataset} ({PROTOCOL_LABELS[r.protocol]}), "
                f"{signed(r.difference, '{:+.1f}')} points" for r in rows) + ".")
    return text


def evidence(found: ResultRecords) -> dict:
    """What the records can say about the paper's claims (the results chapter's "What the
    evidence supports"): ``resnet`` (LEARNet − ResNet-18 on the ``paper`` profile's records, the
    only ones with ResNet, paired by split, :func:`paired_table`), ``handcrafted`` (LEARNet
    against the handcrafted methods on this profile's records), ``vgg``
    (:func:`vgg_against_majority`), and ``numbers``: the sentences and numbers the chapter glues."""
    gpu = found.records if found.profile == "paper" else found.gpu
    resnet = paired_table(gpu, "paper", found.variant, rivals=["resnet18"]) if not gpu.empty else pd.DataFrame()
    own = paired_table(found.records, found.profile, found.variant, rivals=profiles.HANDCRAFTED)
    vgg = vgg_against_majority()
    claims = claimed_margins()
    gpu_data, own_data = records_data(gpu), records_data(found.records)
    near = vgg[vgg["difference"].round(2).abs() <= 0.1]   # the printed numbers have 2 decimals
    repeated = vgg[vgg["same_as"] != ""]
    # a random 80:20 split of CASME II (Table II's 251 clips) tests ceil(0.2 x 251) = 51 clips, as scikit-learn's
    # train_test_split rounds; one such test's spread at the paper's accuracy
    clips = int(paper.table("table2").set_index("emotion").loc["total", "casme2"])
    n_test = int(np.ceil(0.2 * clips))
    acc = published("learnet", "casme2") / 100
    right = int(round(acc * n_test))
    lo, hi = metrics.bootstrap_interval([1] * right + [0] * (n_test - right), [1] * n_test)
    numbers = {
        "evidence_claimed": ", ".join(f"{m:.2f}" for m in claims["margin"]),
        "evidence_table_margins": ", ".join(f"{m:.2f}" for m in claims["table_margin"]),
        "evidence_resnet": _pairs_sentence(resnet, METHOD_NAMES["resnet18"], f"paper profile's records ({gpu_data})"),
        "evidence_handcrafted": _pairs_sentence(own, "the handcrafted methods",
                                                f"{found.profile} profile's records ({own_data})"),
        "evidence_vgg": (f"{len(near)} of the paper's {len(vgg)} VGG cells lie within 0.1 point of the share of the "
                         f"largest class in its own Table II (what always answering that class scores), and "
                         f"{len(repeated)} print exactly the number of another cell of Tables III-IV."),
        "evidence_noise": (f"A random 80:20 split of CASME II's {clips} clips tests {n_test}; at the paper's "
                           f"{100 * acc:.2f} % the 95 % bootstrap interval of one such test spans "
                           f"{100 * lo:.1f} to {100 * hi:.1f} % ({100 * (hi - lo):.1f} points), against claimed "
                           f"margins over ResNet of {claims['margin'].min():.2f} to {claims['margin'].max():.2f} "
                           "points: one split cannot tell such margins from noise, and the paper gives no interval."),
        "evidence_noise_width": f"{100 * (hi - lo):.1f}",
        "evidence_data": ("Every record here was made on synthetic twins: this section tests the pipeline (that "
                          "the comparisons run and what they can resolve), not the paper's claims about the real "
                          "datasets; with licensed data in DATA_ROOT the same cells test the claims."
                          if "licensed" not in gpu_data + own_data else
                          f"The paper profile's records were made on {gpu_data}, this profile's on {own_data}."),
    }
    return {"resnet": resnet, "handcrafted": own, "vgg": vgg, "numbers": numbers}


def show_evidence_table(frame: pd.DataFrame, vgg: bool = False) -> None:
    """Display a :func:`paired_table` (:func:`styled_paired`) or, with ``vgg``, a
    :func:`vgg_against_majority` table; nothing where the frame is empty (the glued sentence
    beside it says so)."""
    from IPython.display import display

    styled = styled_vgg(frame) if vgg else styled_paired(frame)
    if styled is not None and not frame.empty:
        display(styled)


# --- the baselines chapter (7): the handcrafted methods under the grid's protocols ---------------------------


def baseline_scores(table: pd.DataFrame, models=profiles.HANDCRAFTED, protocols=PROTOCOLS) -> pd.DataFrame:
    """The handcrafted methods' accuracy per dataset and protocol, from an aggregated table
    (:func:`results.aggregate`, e.g. what :func:`experiment.reproduce` returns): one row per
    (method, dataset) with the published number where the paper prints one, and per protocol
    ``acc_<p>``, ``low_<p>``, ``high_<p>`` (percent), ``over_<p>`` and ``runs_<p>``."""
    rows = []
    if table.empty:
        return pd.DataFrame(rows)
    sel = table[table["model"].isin(models)]
    order = {m: i for i, m in enumerate(models)}
    for (model, dataset), group in sorted(sel.groupby(["model", "dataset"]), key=lambda kv: (order[kv[0][0]],
                                                                                           _dataset_order(kv[0][1]))):
        row = {"method": METHOD_NAMES.get(model, model), "model": model, "dataset": dataset,
               "published": published(model, dataset)}
        for p in protocols:
            hit = group[group["protocol"] == p]
            h = hit.iloc[0] if len(hit) else None
            row.update({f"acc_{p}": 100 * h["accuracy_mean"] if h is not None else float("nan"),
                        f"low_{p}": 100 * h["accuracy_low"] if h is not None else float("nan"),
                        f"high_{p}": 100 * h["accuracy_high"] if h is not None else float("nan"),
                        f"over_{p}": h["interval_over"] if h is not None else None,
                        f"runs_{p}": int(h["runs"]) if h is not None else 0})
        rows.append(row)
    return pd.DataFrame(rows)


def _dataset_order(dataset: str) -> int:
    names = profiles.CHOICES["datasets"]
    return names.index(dataset) if dataset in names else len(names)


def styled_baselines(scores: pd.DataFrame, protocols=PROTOCOLS):
    """:func:`baseline_scores` as the baselines chapter shows it: per protocol the accuracy over
    its 95 % interval and runs (two lines), and the published (quoted) number -> a ``Styler``."""
    out = pd.DataFrame({"method": scores["method"], "dataset": scores["dataset"],
                        "published (%)": scores["published"].map(lambda v: "–" if pd.isna(v) else f"{v:.1f}")})
    for p in protocols:
        out[f"ours, {PROTOCOL_LABELS[p]} (%)"] = [
            "–" if pd.isna(r[f"acc_{p}"]) else
            f"{r[f'acc_{p}']:.1f}<br>" + _interval_runs(r[f"low_{p}"], r[f"high_{p}"], r[f"runs_{p}"], r[f"over_{p}"])
            for _, r in scores.iterrows()]
    return out.style.hide(axis="index")


def majority_shares(settings, datasets=None) -> dict:
    """Each dataset's largest class's share of its clips (the accuracy of always predicting
    it), from its clip table under ``settings`` (:func:`inputs.clips`; None: the profile's datasets)."""
    names = list(datasets) if datasets is not None else list(settings.datasets)
    return {d: float(inputs.clips(d, settings)["emotion"].value_counts(normalize=True).max()) for d in names}


def baseline_numbers(scores: pd.DataFrame, majority: dict, protocol: str = "loso") -> dict:
    """The numbers the baselines chapter cites of :func:`baseline_scores`: the records behind
    it (``n_records``); under ``protocol``, the method x dataset cells of ours that ran
    (``cells``) and how many score above their dataset's largest-class share (``above``;
    ``majority``: dataset -> share, :func:`majority_shares`), said in ``baseline_sentence``;
    the best method per dataset with its accuracy and that share (``best_sentence``)."""
    label = PROTOCOL_LABELS.get(protocol, protocol)  # plain text: the sentences are glued as text
    acc = f"acc_{protocol}"
    runs = [c for c in scores.columns if c.startswith("runs_")] if not scores.empty else []
    n_records = int(sum(scores[c].sum() for c in runs))
    ran = scores[scores[acc].notna()] if acc in scores else scores.iloc[:0]
    if ran.empty:
        none = f"No method x dataset cell of ours ran under {label} in this build."
        return {"n_records": n_records, "cells": 0, "above": 0, "baseline_sentence": none, "best_sentence": ""}
    share = 100 * ran["dataset"].map(majority).astype(float)
    above = int((ran[acc] > share).sum())
    sentence = (f"Under {label}, {above} of the {len(ran)} method \u00d7 dataset cells of ours score above the "
                "largest class's share of their dataset (the accuracy of always predicting that class).")
    best = []
    for dataset, group in sorted(ran.groupby("dataset"), key=lambda kv: _dataset_order(kv[0])):
        top = group[acc].max()
        names = list(group.loc[np.isclose(group[acc], top), "method"])
        names = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
        best.append(f"{dataset}, {names} ({top:.1f} %; largest class {100 * majority[dataset]:.1f} %)")
    return {"n_records": n_records, "cells": len(ran), "above": above, "baseline_sentence": sentence,
            "best_sentence": f"The best method per dataset under {label}: " + "; ".join(best) + "."}


def handcrafted_settings() -> dict:
    """The settings of :mod:`handcrafted` the baselines chapter cites, by glue key: the frame
    size and clip length the features read, LBP-TOP's points, radii, codes, uniform bins and
    blocks, MDMO's direction bins, frames and smallest divisor, the SVM's and the ELM's settings."""
    from . import handcrafted as hc

    rx, ry, rt = hc.LBP_RADII
    rows, cols = hc.LBP_BLOCKS
    return {"frame_size": "{} \u00d7 {}".format(*hc.FRAME_SIZE), "tim_frames": hc.TIM_FRAMES,
            "lbp_points": hc.LBP_POINTS, "lbp_codes": 2 ** hc.LBP_POINTS, "lbp_bins": hc.LBP_BINS,
            "lbp_rx": rx, "lbp_ry": ry, "lbp_rt": rt, "lbp_blocks": f"{rows} \u00d7 {cols}",
            "lbp_n_blocks": rows * cols,
            "mdmo_bins": hc.MDMO_BINS, "mdmo_frames": hc.MDMO_FRAMES, "mdmo_min_rho": hc.MDMO_MIN_RHO,
            "svm": f"{hc.SVM['kernel']} kernel, C = {hc.SVM['C']:g}", "elm_hidden": hc.ELM_HIDDEN, "elm_c": hc.ELM_C}


# --- the appendix on GPU cost (learnet_lite.cost) ---------------------------------------------------------------

def styled_gpu_calls(summary: pd.DataFrame):
    """:attr:`cost.GridCost.summary` as the cost page shows it: per call of ``paper_on_gpu.sh``
    its grid, runs recorded of those planned, time and images/s of all runs together -> a ``Styler``."""
    out = pd.DataFrame({
        "grid": [f"<code>{p}</code>, {', '.join(METHOD_NAMES.get(m, m) for m in ms.split(', '))}; {j} at once, MPS "
                 f"{'on' if mps else 'off'}" for p, ms, j, mps in zip(summary["protocols"], summary["models"],
                                                                      summary["jobs"], summary["mps"])],
        "runs recorded": [f"{r} of {n}" for r, n in zip(summary["runs"], summary["planned"])],
        "wall time (min)": [f"{m:.1f}" + ("" if done else " (stopped at its budget)")
                            for m, done in zip(summary["minutes"], summary["finished"])],
        "images/s, all runs": summary["images_per_s"].map(lambda v: f"{v:,.0f}"),
        "log": summary["source"],
    })
    return out.style.hide(axis="index")


def styled_gpu_measured(measured: pd.DataFrame):
    """:attr:`cost.GridCost.measured`: per network and protocol, the medians of a run -> a ``Styler``."""
    out = pd.DataFrame({
        "network": measured["model"].map(lambda m: METHOD_NAMES.get(m, m)), "protocol": measured["protocol"],
        "records": measured["records"], "at once": measured["jobs"],
        "MPS": measured["mps"].map({True: "on", False: "off"}),
        "wall time (s)": measured["wall_s"].map(lambda v: f"{v:.0f}"),
        "images/s": measured["images_per_s"].map(lambda v: f"{v:,.0f}"),
        "GPU-s": measured["gpu_s"].map(lambda v: f"{v:.1f}"),
        "GPU-µs per image-epoch": measured["us"].map(lambda v: f"{v:.1f}"),
    })
    return out.style.hide(axis="index")


def styled_rates(rates: pd.DataFrame):
    """:attr:`cost.GridCost.rates`: per network its forward GFLOPs and its rate, GPU-µs per
    training image and epoch, under both readings (one number where it was timed) -> a ``Styler``."""
    out = pd.DataFrame({
        "network": [METHOD_NAMES.get(m, m) for m in rates.index],
        "timed on the GPU": rates["measured"].map({True: "yes", False: "no"}),
        "GFLOPs (forward, 112 × 112)": rates["gflops"].map(lambda v: f"{v:.2f}"),
        "GPU-µs per image-epoch": [_either([r[k] for k in cost.READINGS], "{:.1f}")
                                   for _, r in rates.iterrows()],
    })
    return out.style.hide(axis="index")


def _code(text: str) -> str:
    """Markdown's `code` spans of a table cell as HTML (a Styler's cells are HTML, not Markdown)."""
    import re

    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def _either(values, fmt: str) -> str:
    """One number where both readings agree (as printed), else "a or b"."""
    a, b = (fmt.format(v) for v in values)
    return a if a == b else f"{a} or {b}"


def styled_grid_cost(cells: pd.DataFrame, readings=cost.READINGS):
    """:attr:`cost.GridCost.cells` with an "all" row: per network and protocol the runs, the GPU
    minutes of a run and the GPU-hours, each under both readings where they differ -> a ``Styler``."""
    rows = [{"network": METHOD_NAMES.get(r["model"], r["model"]), "protocol": r["protocol"], "runs": f"{r['runs']:,}",
             "GPU-min per run": _either([r[f"minutes {k}"] for k in readings], "{:.2f}"),
             "GPU-hours": _either([r[f"hours {k}"] for k in readings], "{:.2f}"),
             "rate": _code(r["origin"])} for r in cells.to_dict("records")]
    runs = int(cells["runs"].sum())
    rows.append({"network": "all", "protocol": "", "runs": f"{runs:,}",
                 "GPU-min per run": _either([cells[f"hours {k}"].sum() * 60 / runs for k in readings], "{:.2f}"),
                 "GPU-hours": _either([cells[f"hours {k}"].sum() for k in readings], "{:.1f}"), "rate": ""})
    return pd.DataFrame(rows).style.hide(axis="index")


def styled_wall(wall: pd.DataFrame, readings=cost.READINGS):
    """:attr:`cost.GridCost.wall`: per number of GPUs, the grid's wall time from and to, per reading."""
    hours_text = cost.hours_text
    out = pd.DataFrame({"GPUs": wall["gpus"],
                        **{f"VGG {cost.READING_LABELS[k]}": [f"{hours_text(a)} to {hours_text(b)}" for a, b in
                                             zip(wall[f"from {k}"], wall[f"to {k}"])] for k in readings}})
    return out.style.hide(axis="index")


def cost_numbers(c) -> dict:
    """The numbers of a :class:`cost.GridCost` the cost page and the reviewers' guide glue, by key."""
    hours_text = cost.hours_text
    p, rates, summary = c.profile, c.rates, c.summary
    first = summary[summary["finished"]].iloc[0] if summary["finished"].any() else summary.iloc[0]
    vgg = [m for m in rates.index if not rates.loc[m, "measured"]]
    wall = c.wall.set_index("gpus")
    out = {
        "gpu_records": len(c.runs), "gpu_name": ", ".join(sorted(set(c.runs["device_name"].dropna()))),
        "gpu_calls": len(summary), "gpu_logs": ", ".join(sorted({s.split("/")[0] for s in summary["source"]})),
        "gpu_datasets": int(c.runs["dataset"].nunique()),
        "first_protocols": first["protocols"], "first_runs": int(first["runs"]), "first_jobs": int(first["jobs"]),
        "first_minutes": float(first["minutes"]), "first_images_per_s": float(first["images_per_s"]),
        "first_gpu_share_s": float(first["gpu_share_s"]), "first_how": "under MPS" if first["mps"] else "without MPS",
        "grid_runs": c.total_runs, "grid_n_datasets": len(c.clips), "grid_variants": len(p.grid_variants),
        "grid_networks": len(rates),
        "grid_repeats": p.repeats, "grid_epochs": p.epochs,
        "grid_copies": augment.Options.from_profile(p).copies_per_image,
        "grid_kfold": p.kfold_folds, "grid_protocols": ", ".join(p.protocols),
        "grid_datasets": ", ".join(f"{d} {int(r.clips)} clips / {int(r.subjects)} subjects"
                                   for d, r in c.clips.iterrows()),
        "most_train_images": int(round(c.sizes["train_images"].max())),
        "most_train_where": "{protocol} on {dataset}".format(**c.sizes.loc[c.sizes["train_images"].idxmax()]),
        "gpu_models": " and ".join(METHOD_NAMES.get(m, m) for m in dict.fromkeys(c.runs["model"])),
        "learnet_rate": float(rates.loc["learnet", "launch-bound"]),  # measured: the same in both readings
        "ref_rate": float(rates.loc[cost.REFERENCE, "launch-bound"]),
        "hours_ratio": c.gpu_hours("FLOPs") / c.gpu_hours("launch-bound"),
        **{f"hours_{key}": c.gpu_hours(k) for k, key in cost.READING_KEYS.items()},
        **{f"longest_{key}": hours_text(c.longest[k][0]) for k, key in cost.READING_KEYS.items()},
        **{f"longest_{key}_run": "{} under {} on {}".format(METHOD_NAMES.get(c.longest[k][1], c.longest[k][1]),
                                                             *c.longest[k][2:])
           for k, key in cost.READING_KEYS.items()},
        "jobs": c.jobs,
        "vgg_gflops": " and ".join(f"{rates.loc[m, 'gflops']:.2f}" for m in vgg),
        "ref_gflops": float(rates.loc["resnet18", "gflops"]), "learnet_gflops": float(rates.loc["learnet", "gflops"]),
        "learnet_flop_share": float(rates.loc["learnet", "flop_ratio"]),
    }
    for k, key in cost.READING_KEYS.items():  # shares of the GPU-hours
        hours = c.cells[f"hours {k}"]
        out[f"loso_share_{key}"] = float(hours[c.cells["protocol"] == "loso"].sum() / hours.sum())
        out[f"vgg_share_{key}"] = float(hours[c.cells["model"].isin(vgg)].sum() / hours.sum())
    for what in ("loso", "vgg"):  # one share where both readings give the same, as printed
        out[f"{what}_share"] = _either([out[f"{what}_share_launch"], out[f"{what}_share_flops"]], "{:.0%}")
    b = c.batched
    out.update(batched_k=b["k"], batched_low=min(b["ratios"]), batched_high=max(b["ratios"]),
               batched_median=b["median"], batched_threads=b["threads"], batched_cpus=b["cpus"],
               batched_source=b["source"])
    bench = c.throughput.groupby("batch")["images_per_s"].agg(["min", "max"])
    for batch in bench.index:  # LEARNet's training throughput by batch size, over the benchmark's runs
        low, high = (round(v, -2) for v in bench.loc[batch])
        out[f"bench_batch{batch}"] = f"{low:,.0f}" if low == high else f"{low:,.0f}–{high:,.0f}"
    for n in wall.index:
        for k, key in cost.READING_KEYS.items():
            out[f"wall_{n}_{key}"] = f"{hours_text(wall.loc[n, f'from {k}'])} to {hours_text(wall.loc[n, f'to {k}'])}"
    return out
