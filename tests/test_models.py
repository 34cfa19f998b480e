"""LEARNet and the baselines: parameter counts derived by hand, shapes, accretion; the model's
tables (Tables I and V, the ablation counts, the Fig. 2 graph: learnet_lite.tables)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from learnet_lite import models, paper, tables

CLASS_COUNTS = (2, 3, 4, 5, 7, 8)  # every dataset/protocol of Table II (SMIC 2/3, CASME-II 5, ...)


def conv(cin, cout, k):
    return k * k * cin * cout + cout


def bn(c):
    return 2 * c  # γ and β; running statistics are buffers


def by_hand(num_classes, accretion=True, final_map=4):
    """Trainable parameters of the authors' topology, from the layer shapes alone."""
    n = conv(3, 16, 3)                                              # stem
    n += 4 * (conv(16, 16, 1) + conv(16, 32, 3) + conv(32, 64, 5))  # four lateral paths
    if accretion:
        n += 2 * bn(16) + 2 * bn(32)                                # Add-1.x, Add-2.x
    n += bn(256)                                                    # concat BatchNorm
    n += conv(256, 256, 3)                                          # conv 5
    n += 256 * final_map * final_map * 256 + 256                    # FC 256
    n += 256 * num_classes + num_classes                            # classifier
    return n


def test_learnet_has_the_authors_count():
    assert models.count_parameters(models.build("learnet", 8)) == 1_866_824 == by_hand(8)


@pytest.mark.parametrize("options, expected", [
    ({}, by_hand(8)),
    ({"accretion": False}, by_hand(8, accretion=False)),
    ({"downsample": "maxpool"}, by_hand(8)),
    ({"final_map": 3}, by_hand(8, final_map=3)),
])
def test_ablation_counts(options, expected):
    model = models.build("learnet", 8, **options)
    assert models.count_parameters(model) == expected
    assert tables.layer_summary(model).trainable_params == expected  # torchinfo agrees


def test_final_map_3_is_near_the_papers_1_4m():
    n = models.count_parameters(models.build("learnet", 8, final_map=3))
    assert n == 1_408_072 and round(n / 1e6, 1) == 1.4


def test_count_parameters_skips_frozen():
    model = models.build("learnet", 8)
    model.conv5.conv.weight.requires_grad_(False)
    assert models.count_parameters(model) == by_hand(8) - 3 * 3 * 256 * 256


@pytest.mark.parametrize("num_classes", CLASS_COUNTS)
@pytest.mark.parametrize("options", [{}, {"accretion": False}, {"downsample": "maxpool"}, {"final_map": 3},
                                     {"accretion": False, "downsample": "maxpool", "final_map": 3}])
def test_learnet_output_shape(num_classes, options):
    model = models.build("learnet", num_classes, **options).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 112, 112)).shape == (2, num_classes)


@pytest.mark.parametrize("name", [n for n in models.NAMES if n != "learnet"])
@pytest.mark.parametrize("num_classes", CLASS_COUNTS)
def test_baseline_output_shape(name, num_classes):
    with torch.device("meta"):  # shapes without allocating VGG's 138M weights
        model = models.build(name, num_classes).eval()
        assert model(torch.empty(2, 3, 112, 112)).shape == (2, num_classes)


def test_baseline_runs_for_real():
    model = models.build("resnet18", 5).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 112, 112))
    assert out.shape == (1, 5) and torch.isfinite(out).all()


def test_googlenet_has_no_aux_heads():
    with torch.device("meta"):
        model = models.build("googlenet", 5)
    assert model.aux1 is None and model.aux2 is None


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown model"):
        models.build("alexnet", 5)
    with pytest.raises(ValueError, match="num_classes"):
        models.build("learnet", 1)
    with pytest.raises(ValueError, match="downsample"):
        models.build("learnet", 5, downsample="avg")
    with pytest.raises(ValueError, match="final_map"):
        models.build("learnet", 5, final_map=2)
    with pytest.raises(ValueError, match="takes no options"):
        models.build("vgg16", 5, accretion=False)


@pytest.mark.parametrize("n, k", [(112, 3), (56, 1), (28, 3), (14, 5), (7, 3), (9, 4)])
def test_keras_same_padding(n, k):
    """TensorFlow's rule: out = ceil(n/2), the odd padding pixel at the bottom/right."""
    torch.manual_seed(0)
    layer = models.Conv2dSame(2, 3, k, stride=2)
    x = torch.randn(1, 2, n, n)
    total = max((math.ceil(n / 2) - 1) * 2 + k - n, 0)
    before, after = total // 2, total - total // 2
    expected = F.conv2d(F.pad(x, (before, after, before, after)), layer.weight, layer.bias, stride=2)
    got = layer(x)
    assert got.shape[-1] == math.ceil(n / 2)
    torch.testing.assert_close(got, expected)


def test_keras_batchnorm_defaults():
    model = models.build("learnet", 8)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            assert m.momentum == pytest.approx(0.01) and m.eps == pytest.approx(1e-3)


def test_accretion_adds_the_neighbouring_path():
    torch.manual_seed(0)
    model = models.build("learnet", 8).eval()  # fresh BatchNorm in eval: y = x / sqrt(1 + eps)
    with torch.no_grad():
        maps = model.lateral(torch.randn(2, 3, 112, 112))
    scale = 1 / math.sqrt(1 + 1e-3)
    torch.testing.assert_close(maps["add1_1"], (maps["p1.1"] + maps["p2.1"]) * scale)
    torch.testing.assert_close(maps["add2_2"], (maps["p3.2"] + maps["p4.2"]) * scale)
    # path 2's next conv reads the sum, path 1's its own output
    with torch.no_grad():
        torch.testing.assert_close(maps["p2.2"], model.path2[1](maps["add1_1"]))
        torch.testing.assert_close(maps["p1.2"], model.path1[1](maps["p1.1"]))


@pytest.mark.parametrize("size", [112, 64, 60, 58])
def test_level1_maps_computed_only_where_read(size):
    """The paths' level-1 maps from the stem at stride 4 equal those read off the full
    56×56 stem map; sides not divisible by 4 (Keras pads there) fall back to the full map."""
    torch.manual_seed(0)
    model = models.build("learnet", 8).eval()
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        fast, maps = model._level1_where_read(x), model.lateral(x)
    if size % 4:
        assert fast is None
        return
    for p in range(1, 5):
        torch.testing.assert_close(fast[f"p{p}.1"], maps[f"p{p}.1"])
    model.skip_unread_stem = False
    assert model._level1_where_read(x) is None


def test_stem_computed_only_where_read_is_the_same_function():
    """Training forward and backward: outputs, BatchNorm running statistics and gradients
    equal those of running every layer as a module on its whole input."""
    torch.manual_seed(0)
    fast = models.build("learnet", 8)
    full = models.build("learnet", 8)
    full.load_state_dict(fast.state_dict())
    full.skip_unread_stem = False
    x = torch.randn(3, 3, 112, 112)
    outs = []
    for model in (fast, full):
        torch.manual_seed(1)  # same dropout mask
        out = model.train()(x)
        out.square().sum().backward()
        outs.append(out)
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-4, atol=1e-4)
    for (name, a), b in zip(fast.named_parameters(), full.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-3, atol=1e-4, msg=name)
    for (name, a), b in zip(fast.named_buffers(), full.buffers()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)
    with torch.no_grad():
        torch.testing.assert_close(fast.eval()(x), full.eval()(x), rtol=1e-5, atol=1e-5)


def test_accretion_changes_the_output_for_the_same_weights():
    torch.manual_seed(0)
    full = models.build("learnet", 8).eval()
    plain = models.build("learnet", 8, accretion=False).eval()
    missing, unexpected = plain.load_state_dict(full.state_dict(), strict=False)
    assert not missing and all(k.startswith("accretion.") for k in unexpected)
    x = torch.randn(2, 3, 112, 112)
    with torch.no_grad():
        a, b = full(x), plain(x)
        assert not torch.allclose(a, b, atol=1e-4)
        # paths 1 and 3 are untouched by accretion; paths 2 and 4 differ
        ma, mb = full.lateral(x), plain.lateral(x)
    torch.testing.assert_close(ma["p1.3"], mb["p1.3"])
    assert not torch.allclose(ma["p2.3"], mb["p2.3"])


def test_maxpool_ablation_downsamples_by_pooling():
    model = models.build("learnet", 8, downsample="maxpool")
    assert isinstance(model.path1.conv2.pool, torch.nn.MaxPool2d)
    assert model.path1.conv2.conv.stride == (1, 1)
    with torch.no_grad():
        maps = model.eval().lateral(torch.randn(1, 3, 112, 112))
    assert maps["stem"].shape[-1] == 56 and maps["concat"].shape == (1, 256, 7, 7)


def test_table1_is_measured_from_the_module():
    df = tables.table1(models.build("learnet", 8)).set_index("layer")
    assert df.loc["Total", "parameters"] == 1_866_824
    assert df.loc["FC", "parameters"] == 4096 * 256 + 256
    assert df.loc["Conv-4", "output"] == "7×7×64" and df.loc["Conv-5", "output"] == "4×4×256"
    assert df.loc["Add-1", "parameters"] == 2 * bn(16)
    # the rows that agree with the paper and those that do not
    assert not df.loc[["Conv-1", "Conv-2", "Conv-3", "Conv-4", "LRN", "Conv-5"], "mismatch"].any()
    assert df.loc[["FC", "Add-1", "Add-2", "Total"], "mismatch"].all()
    assert all(df.loc[df["mismatch"], "note"].str.len() > 0)
    assert df.loc["Total", "paper_parameters"] == 1_405_824
    # a different model gives a different table: nothing is typed in
    df3 = tables.table1(models.build("learnet", 5, final_map=3)).set_index("layer")
    assert df3.loc["Total", "parameters"] == by_hand(5, final_map=3)
    assert df3.loc["FC", "parameters"] == df3.loc["FC", "paper_parameters"]
    assert df3.loc["Conv-5", "output"] == "3×3×256" and df3.loc["Conv-5", "mismatch"]


def test_table5_is_measured_from_the_modules():
    df = tables.table5().set_index("model")
    assert df.loc["learnet", "parameters"] == 1_866_824
    assert df.loc["vgg16", "parameters"] == 138_357_544      # torchvision's published count
    assert df.loc["resnet18", "parameters"] == 11_689_512
    assert df.loc["resnet34", "parameters"] == 21_797_672
    assert df.loc["vgg16", "layers"] == 16 and df.loc["vgg19", "layers"] == 19
    assert df.loc["googlenet", "layers"] == 22
    assert df.loc["resnet18", "layers"] == 18 and df.loc["resnet34", "layers"] == 34
    # the paper's ResNet row: 34 layers holds only for ResNet-34, 11M only for ResNet-18
    assert df.loc["resnet34", "layers_match"] and not df.loc["resnet34", "parameters_match"]
    assert df.loc["resnet18", "parameters_match"] and not df.loc["resnet18", "layers_match"]


def test_tables_know_the_models_input_size():
    assert tables.MODEL_INPUT == models.INPUT_SIZE


def test_ablation_counts_and_their_numbers():
    counts = tables.ablation_counts(8)
    assert list(counts["variant"]) == list(tables.ABLATIONS)
    assert counts["vs. official"].iloc[0] == 0
    assert tables.ablation_numbers(counts) == {"n_learnet": by_hand(8), "n_noacc": by_hand(8, accretion=False),
                                               "n_final3": by_hand(8, final_map=3)}


def test_table1_and_table5_numbers():
    g = tables.table1_numbers(tables.table1(models.build("learnet", 8)))
    assert g["fc_ours"] == 4096 * 256 + 256 and g["fc_paper"] == g["fc_final3"] == 589_824 + 256
    assert g["table1_paper_total"] == 1_405_824 and g["table1_mismatches"] == 5
    assert g["table1_difference"] == by_hand(8) - 1_405_824
    assert g["final3_vs_paper"] == by_hand(8, final_map=3) - 1_405_824
    paths = 4 * (272 + 4_640 + 51_264) + 4 * 48  # each path's three convs, and the accretion BatchNorms
    assert g["paths_share"] == pytest.approx(paths / by_hand(8))
    assert g["fc_share"] == pytest.approx(g["fc_ours"] / by_hand(8))
    g5 = tables.table5_numbers(tables.table5())
    assert g5["vgg16_m"] == pytest.approx(138.36) and g5["resnet18_layers"] == 18 and g5["learnet_layers"] == 7
    html = tables.style_table5(tables.table5()).to_html()
    assert tables.HIGHLIGHT in html and "138,357,544" in html


def test_graph_is_read_off_the_module():
    nodes, edges = tables.graph(models.build("learnet", 8))
    names = set(nodes["name"])
    assert {"input", "stem", "concat", "conv5", "fc", "classifier", "add1_1", "add2_2"} <= names
    assert nodes["params"].sum() == by_hand(8)  # every trainable layer is one node
    assert ("p1.1", "add1_1") in edges and ("add1_1", "p2.2") in edges
    plain, _ = tables.graph(models.build("learnet", 8, accretion=False))
    assert not plain["name"].str.startswith("add").any()


def test_paper_tables_transcription_is_consistent():
    t1 = paper.table("table1").dropna(subset=["parameters"])
    for printed, value in zip(t1["parameters_printed"], t1["parameters"]):
        assert eval(printed.replace("×", "*"), {}) == value  # noqa: S307 (our own CSV)
    t5 = paper.table("table5")
    assert list(t5["network"]) == ["VGG-16", "VGG-19", "GoogleNet", "ResNet", "LEARNet"]


def test_table1_and_table5_as_shown_fit_the_page():
    t1 = tables.table1(models.build("learnet", 8))
    styled = tables.style_table1(t1)
    shown = styled.data
    # no note column: each note is a numbered footnote under the table, its row marked
    assert list(shown.columns) == ["layer", "module", "output", "published output", "parameters",
                                   "published parameters", "difference"]
    marked = dict(zip(t1["layer"], shown["layer"]))
    assert marked["Add-1"] == "Add-1\u00a0¹" == marked["Add-2"].replace("2", "1") and marked["FC"] == "FC\u00a0²"
    assert marked["Conv-1"] == "Conv-1"   # agrees with the paper: no note
    html = styled.to_html()
    assert '<ol class="table-notes">' in html and "caption-side: bottom" in html
    assert html.count("<li>") == len(set(n for n in t1["note"] if n))   # Add-1 and Add-2 share one note
    assert "path1–4.conv2" in set(shown["module"])
    assert tables.signed(-1234) == "\u22121,234" and tables.signed(461_000) == "+461,000"   # a real minus sign
    t5 = tables.style_table5(tables.table5())
    assert list(t5.data.columns) == ["network", "model", "layers", "published layers", "parameters", "ours (M)",
                                     "published (M)", "difference (M)"]
    assert "\u2212" in t5.to_html()   # ResNet-34 vs the paper's 11M: a real minus where ours is below
