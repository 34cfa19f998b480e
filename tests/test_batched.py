"""batched.fit_many: K LEARNet runs as one grouped computation equal K separate train.fit runs.

Tolerance. A batch of one run is ``fit`` to the bit. With K > 1 the forward pass, BatchNorm,
dropout masks, data order, loss gradients and SGD arithmetic are bit-identical, but oneDNN
sums the grouped convs' weight gradients (and MKL the batched matmuls) in another order,
so K > 1 agrees with separate runs to float32 rounding amplified by a few SGD steps:
``ATOL`` on weights and ``RTOL`` on losses (measured ~2e-5 and ~2e-6; a different dropout
mask or data order moves them by ~1e-2, and another seed by ~1e-1).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import standin
import torch
import torch.nn.functional as F

from learnet_lite import batched, models, profiles, train
from learnet_lite.profiles import Profile

ATOL, RTOL = 2e-4, 1e-4
PROFILE = Profile(epochs=2, batch_size=10)


@pytest.fixture(scope="module")
def data():
    return standin.dynamic_images(5, 5, frames=6, size=112, seed=0)  # 25 images


def fresh(seed: int, **options) -> models.LEARNet:
    torch.manual_seed(seed)  # what run_fold does before models.build
    return models.build("learnet", 5, **options)


def weights(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_close_runs(h1, w1, h2, w2):
    assert set(h1) == set(h2) and all(len(h1[k]) == len(h2[k]) for k in h1)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(h1[key], h2[key], rtol=RTOL)
    for key in ("accuracy", "val_accuracy"):
        np.testing.assert_allclose(h1[key], h2[key], atol=0.05)  # one image in 20 may flip, none did
    for k in w1:
        torch.testing.assert_close(w1[k], w2[k], atol=ATOL, rtol=0)


def separate(data, spec, profile=PROFILE, **kw):
    """One train.fit per (seed, slice, val) of ``spec``: histories and final weights."""
    x, y = data
    out = []
    for seed, part, val in spec:
        net = fresh(seed)
        h = train.fit(net, x[part], y[part], profile, val=val, seed=seed, device="cpu", progress=False, **kw)
        out.append((h, weights(net)))
    return out


def test_one_run_is_fit_to_the_bit(data, tmp_path):
    x, y = data
    [(h0, w0)] = separate(data, [(3, slice(None), (x[:12], y[:12]))], checkpoint=tmp_path / "fit.pt")
    net = fresh(3)
    [h] = train.fit_many([net], [x], [y], PROFILE, vals=[(x[:12], y[:12])], seeds=[3], device="cpu",
                         progress=False, checkpoints=[tmp_path / "many.pt"])
    assert h == h0
    assert all(torch.equal(w0[k], v) for k, v in weights(net).items())
    a, b = train.load_checkpoint(tmp_path / "fit.pt"), train.load_checkpoint(tmp_path / "many.pt")
    assert a["settings"] == b["settings"] and a["history"] == b["history"] and a["scaler"] == b["scaler"]
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert a["optimizer"]["param_groups"] == b["optimizer"]["param_groups"]
    assert all(torch.equal(a["optimizer"]["state"][i]["momentum_buffer"], b["optimizer"]["state"][i]["momentum_buffer"])
               for i in a["optimizer"]["state"])
    alone = fresh(3)
    alone.load_state_dict(w0)
    np.testing.assert_array_equal(train.predict(net, x, device="cpu"), train.predict(alone, x, device="cpu"))


def test_k_runs_of_different_sizes_equal_separate_runs(data):
    x, y = data
    # three training sets of 25, 23 and 21 images (LOSO folds differ), one without validation
    spec = [(7, slice(None), (x[:12], y[:12])), (8, slice(0, 23), (x[5:20], y[5:20])), (9, slice(4, None), None)]
    alone = separate(data, spec)
    nets = [fresh(seed) for seed, _, _ in spec]
    hists = batched.fit_many(nets, [x[s] for _, s, _ in spec], [y[s] for _, s, _ in spec], PROFILE,
                             vals=[v for _, _, v in spec], seeds=[s for s, _, _ in spec], device="cpu", progress=False)
    for (h0, w0), h, net in zip(alone, hists, nets):
        assert_close_runs(h, weights(net), h0, w0)
        assert not net.training if h["val_loss"] else net.training  # left as fit leaves it
    assert hists[2]["val_loss"] == []
    # different seeds are different runs: far outside the tolerance
    assert abs(hists[0]["loss"][0] - hists[1]["loss"][0]) > 1e-3
    w0, w1 = weights(nets[0]), weights(nets[1])
    assert (w0["fc.linear.weight"] - w1["fc.linear.weight"]).abs().max() > 100 * ATOL


def test_same_data_different_seeds_share_one_copy_and_differ(data):
    x, y = data
    nets = [fresh(0), fresh(1)]
    hists = batched.fit_many(nets, [x, x], [y, y], dataclasses.replace(PROFILE, epochs=1), seeds=[0, 1],
                             device="cpu", progress=False)
    assert hists[0]["loss"] != hists[1]["loss"]
    [(h1, w1)] = separate(data, [(1, slice(None), None)], dataclasses.replace(PROFILE, epochs=1))
    assert_close_runs(hists[1], weights(nets[1]), h1, w1)


@pytest.mark.parametrize("options", [{}, {"accretion": False}, {"downsample": "maxpool"}, {"final_map": 3},
                                     {"dropout": 0.0}])
def test_stacked_forward_is_each_nets_forward(data, options):
    """Every ablation: the grouped network computes each run's LEARNet.forward (eval and
    train mode, BatchNorm batch statistics included, dropout masks from the same seed)."""
    x = data[0][:4]
    nets = [fresh(s, **options).to(memory_format=torch.channels_last) for s in (0, 1, 2)]
    stack = batched.Stack(nets)
    xb = batched._grouped_input(torch.cat([x, x.flip(0), x * 0.5]), torch.arange(12), 3)
    for training in (False, True):
        with torch.no_grad():
            got = stack.forward(xb, 0, 3, [torch.Generator().manual_seed(s) for s in (5, 6, 7)], training)
            for r, (net, xr) in enumerate(zip(nets, (x, x.flip(0), x * 0.5))):
                torch.manual_seed(5 + r)
                want = net.train(training)(xr.contiguous(memory_format=torch.channels_last))
                torch.testing.assert_close(got[r], want, atol=1e-5, rtol=1e-5)
        assert got.shape == (3, 4, 5)
    # the running statistics moved as the separate BatchNorms' did (one training pass)
    s = dict(stack.t)
    for r, net in enumerate(nets):
        torch.testing.assert_close(batched._runs(s["concat_bn.running_mean"], 3)[r], net.concat_bn.running_mean,
                                   atol=1e-6, rtol=1e-5)


def test_dropout_masks_are_atens():
    x = torch.randn(25, 256).relu()
    seed = train._epoch_seed(4, 2)
    torch.manual_seed(seed)  # fit: the global generator, reseeded each epoch
    want = [F.dropout(x, 0.5, training=True) for _ in range(3)]
    gen = torch.Generator().manual_seed(seed)
    got = [batched._dropout(x[None], 0.5, [gen])[0] for _ in range(3)]
    assert all(torch.equal(a, b) for a, b in zip(want, got))
    assert not torch.equal(got[0], got[1])  # the stream moves on between steps
    other = batched._dropout(x[None], 0.5, [torch.Generator().manual_seed(seed + 1)])[0]
    assert not torch.equal(other, got[0])
    assert torch.equal(batched._dropout(x[None], 0.0, [gen])[0], x)
    assert not batched._dropout(x[None], 1.0, [gen]).any()
    assert torch.equal(batched._dropout(x[None], 0.5, None)[0], x)  # eval


class Killed(RuntimeError):
    pass


def test_resume_after_a_kill_equals_an_uninterrupted_batched_run(data, tmp_path):
    x, y = data
    profile = dataclasses.replace(PROFILE, epochs=3)
    xs, ys, seeds = [x, x[3:]], [y, y[3:]], [1, 2]
    vals = [(x[:10], y[:10])] * 2
    kw = dict(vals=vals, seeds=seeds, device="cpu", progress=False)
    whole = [fresh(s) for s in seeds]
    h_whole = batched.fit_many(whole, xs, ys, profile, checkpoints=[tmp_path / "a0.pt", tmp_path / "a1.pt"], **kw)

    def kill_after_2(epoch, histories):
        if epoch == 2:
            raise Killed

    ckpts = [tmp_path / "b0.pt", tmp_path / "b1.pt"]
    with pytest.raises(Killed):
        batched.fit_many([fresh(s) for s in seeds], xs, ys, profile, checkpoints=ckpts, on_epoch=kill_after_2, **kw)
    assert [train.load_checkpoint(c)["epoch"] for c in ckpts] == [2, 2]
    run = []
    resumed = [fresh(s) for s in seeds]
    h_resumed = batched.fit_many(resumed, xs, ys, profile, checkpoints=ckpts, resume=True,
                                 on_epoch=lambda e, h: run.append(e), **kw)
    assert run == [3] and h_resumed == h_whole
    for a, b in zip(whole, resumed):
        assert all(torch.equal(v, weights(b)[k]) for k, v in weights(a).items())
    # a checkpoint of another run is refused, as fit refuses it
    with pytest.raises(ValueError, match="different run"):
        batched.fit_many([fresh(1)], [x[:20]], [y[:20]], profile, seeds=[1], device="cpu", progress=False,
                         checkpoints=[ckpts[0]], resume=True)


def test_runs_resumed_at_different_epochs_and_from_fit_checkpoints(data, tmp_path):
    """fit and fit_many share one checkpoint format: runs that fit left at epochs 1 and 2
    continue together (the one behind catches up alone) and end as uninterrupted fits."""
    x, y = data
    profile = dataclasses.replace(PROFILE, epochs=3)
    spec = [(5, slice(None), None), (6, slice(0, 21), None)]
    alone = separate(data, spec, profile)
    ckpts = [tmp_path / "r0.pt", tmp_path / "r1.pt"]
    for (seed, part, _), ckpt, stop in zip(spec, ckpts, (1, 2)):
        def kill(epoch, history, stop=stop):
            if epoch == stop:
                raise Killed
        with pytest.raises(Killed):
            train.fit(fresh(seed), x[part], y[part], profile, seed=seed, device="cpu", progress=False,
                      checkpoint=ckpt, on_epoch=kill)
    nets = [fresh(seed) for seed, _, _ in spec]
    epochs = []
    hists = batched.fit_many(nets, [x[s] for _, s, _ in spec], [y[s] for _, s, _ in spec], profile,
                             seeds=[s for s, _, _ in spec], device="cpu", progress=False, checkpoints=ckpts,
                             resume=True, on_epoch=lambda e, h: epochs.append(e))
    assert epochs == [2, 3]
    for (h0, w0), h, net in zip(alone, hists, nets):
        assert_close_runs(h, weights(net), h0, w0)
    # and fit resumes a checkpoint that fit_many wrote
    [(h0, w0)] = alone[:1]

    def kill_after_2(epoch, histories):
        if epoch == 2:
            raise Killed

    with pytest.raises(Killed):
        train.fit_many([fresh(5)], [x], [y], profile, seeds=[5], device="cpu", progress=False,
                       checkpoints=[tmp_path / "m.pt"], on_epoch=kill_after_2)
    net = fresh(5)
    h = train.fit(net, x, y, profile, seed=5, device="cpu", progress=False, checkpoint=tmp_path / "m.pt",
                  resume=True)
    assert h == h0 and all(torch.equal(w0[k], v) for k, v in weights(net).items())


def test_other_configurations_fall_back_to_separate_fits(data):
    x, y = data
    nets = [fresh(0), fresh(1, dropout=0.2)]  # two configurations: not one stack
    assert not batched.batchable(nets) and batched.batchable(nets[:1])
    assert not batched.batchable([models.build("learnet", 5), models.build("learnet", 4)])
    assert not batched.batchable([fresh(0), fresh(1)], [x, x[:, :, :96, :96]])  # two image sizes
    profile = dataclasses.replace(PROFILE, epochs=1)
    seen = []
    hists = batched.fit_many(nets, [x, x], [y, y], profile, seeds=[0, 1], device="cpu", progress=False,
                             on_epoch=lambda e, h: seen.append((e, len(h))))
    want = [train.fit(n, x, y, profile, seed=s, device="cpu", progress=False) for n, s in ((fresh(0), 0),
                                                                                      (fresh(1, dropout=0.2), 1))]
    assert hists == want and seen == [(1, 1), (1, 2)]
    with pytest.raises(ValueError, match="as many"):
        batched.fit_many(nets, [x], [y], profile, seeds=[0, 1], device="cpu", progress=False)


def test_choose_k_from_free_memory(monkeypatch):
    net = models.build("learnet", 5)
    mib = 2**20
    monkeypatch.setattr(batched, "footprint", lambda model, device, *args: (500 * mib, 100 * mib))
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (10_000 * mib, 80_000 * mib))
    data = 4 * 3 * 112 * 112 * 1000 + 8 * 1000  # 1000 float images and labels per run
    want = int((0.8 * 10_000 * mib - 500 * mib) // (100 * mib + data))
    assert batched.choose_k(net, "cuda", 1000) == want == 30
    assert batched.choose_k(net, "cuda", 1000, max_k=8) == 8
    assert batched.choose_k(net, "cuda", 0) == batched.CUDA_MAX_K
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (300 * mib, 80_000 * mib))
    assert batched.choose_k(net, "cuda", 1000) == 1  # nothing fits: one run, as ever
    assert batched.choose_k(models.build("learnet", 5, dropout=0.1), "cuda", 10) >= 1
    monkeypatch.undo()
    assert batched.choose_k(net, "cpu", 3000) == batched.CPU_MAX_K == 1  # measured: batching loses on a CPU
    monkeypatch.setattr(batched, "_available_memory", lambda: 1000 * mib)
    assert batched.choose_k(net, "cpu", 100, max_k=8) == 8  # asked for: as many as fit
    assert batched.choose_k(net, "cpu", 3000, max_k=8) == int(0.8 * 1000 * mib // (batched.footprint(net, "cpu")[1]
                                                                                  + 3000 * (4 * 3 * 112 * 112 + 8)))
    monkeypatch.setattr(batched, "_available_memory", lambda: 50 * mib)
    assert batched.choose_k(net, "cpu", 3000, max_k=8) == 1
    with torch.device("meta"):
        vgg = models.build("vgg16", 5)
    assert batched.choose_k(vgg, "cpu", 10) == 1  # not batched: one run at a time


def test_per_run_scale_update_is_torchs():
    cases = [(4.0, 1, 0.0), (4.0, 1, 1.0), (4.0, 0, 0.0), (float(2**127), 1, 0.0)]
    scale = torch.tensor([c[0] for c in cases])
    tracker = torch.tensor([c[1] for c in cases], dtype=torch.int32)
    found = torch.tensor([c[2] for c in cases])
    batched.update_scale(scale, tracker, found, 2.0, 0.5, 2)
    for i, (s, t, f) in enumerate(cases):
        s1, t1 = torch.tensor([s]), torch.tensor([t], dtype=torch.int32)
        torch._amp_update_scale_(s1, t1, torch.tensor([f]), 2.0, 0.5, 2)
        assert scale[i] == s1[0] and tracker[i] == t1[0], cases[i]


def test_run_batch_writes_run_folds_records(tmp_path):
    from test_experiment import SETTINGS, make_clips, strip_times

    from learnet_lite import experiment, results

    prep = experiment.prepare("casme2", SETTINGS, "bilen", df=make_clips(tmp_path / "clips"),
                              cache_dir=tmp_path / "cache", progress=False)
    folds = experiment.folds(prep, "loso", SETTINGS, 0)[:3] + experiment.folds(prep, "paper", SETTINGS, 1)
    assert len({len(f.train) for f in folds}) > 1  # training sets of different sizes in one batch
    kw = dict(model="learnet", profile=SETTINGS, device="cpu", progress=False)
    alone = [experiment.run_fold(prep, f, results_dir=tmp_path / "a", **kw)[0] for f in folds]
    got = experiment.run_batch(prep, folds, results_dir=tmp_path / "b", **kw)
    assert [trained for _, trained in got] == [True] * len(folds)
    assert [p.relative_to(tmp_path / "b") for p, _ in got] == [p.relative_to(tmp_path / "a") for p in alone]
    for a, (b, _) in zip(alone, got):
        ra, rb = strip_times(results.read(a)), strip_times(results.read(b))
        ha, hb = ra["extra"].pop("history"), rb["extra"].pop("history")
        assert ra == rb  # predictions, metrics, sizes, settings: all of it
        for key in ha:
            np.testing.assert_allclose(hb[key], ha[key], rtol=RTOL)
    assert not list((tmp_path / "b" / experiment.CHECKPOINT_DIR).rglob("*.pt"))  # checkpoints removed
    stamps = [p.stat().st_mtime_ns for p, _ in got]
    again = experiment.run_batch(prep, folds[:2], results_dir=tmp_path / "b", **kw)
    assert again == [(p, False) for p, _ in got[:2]] and [p.stat().st_mtime_ns for p, _ in got] == stamps


def test_a_run_whose_gradients_overflow_skips_its_step_alone_as_gradscaler_does():
    """The mixed-precision bookkeeping (CUDA's path), on CPU tensors: per-run unscale, skip
    and scale update against torch's GradScaler driving each run's own SGD."""
    nets = [fresh(s).to(memory_format=torch.channels_last) for s in (0, 1)]
    twins = [fresh(s).to(memory_format=torch.channels_last) for s in (0, 1)]
    stack = batched.Stack(nets)
    scalers = [torch.amp.GradScaler("cpu", init_scale=4.0) for _ in nets]
    optim = batched._Optim(stack, [train.sgd(n) for n in nets], scalers, amp=True)
    torch.manual_seed(0)
    for name in stack.params:
        stack.t[name].grad = torch.randn_like(stack.t[name])
    batched._runs(stack.t["classifier.bias"].grad, 2)[1, 0] = float("inf")  # run 1 overflowed
    grads = {n: batched._runs(stack.t[n].grad, 2).clone() for n in stack.params}
    optim.step(0, 2)
    assert all(stack.t[n].grad is None for n in stack.params)
    opts = [train.sgd(n) for n in nets]
    optim.copy_to(opts, scalers)
    stack.copy_to(nets)
    for r, twin in enumerate(twins):
        opt, scaler = train.sgd(twin), torch.amp.GradScaler("cpu", init_scale=4.0)
        scaler.scale(torch.ones(()))  # starts its scale
        for name, p in twin.named_parameters():
            p.grad = grads[name][r].reshape(p.shape).clone()
        scaler.step(opt)
        scaler.update()
        assert scalers[r].state_dict() == scaler.state_dict()
        assert all(torch.equal(a, b) for a, b in zip(weights(twin).values(), weights(nets[r]).values()))
        assert bool(opts[r].state) == bool(opt.state) == (r == 0)  # the overflowed run took no step
    assert scalers[1].get_scale() == 2.0 and scalers[0].get_scale() == 4.0


def test_reproduce_batches_learnet_runs_where_choose_k_allows(tmp_path, monkeypatch):
    from test_experiment import SETTINGS, make_clips

    from learnet_lite import experiment, inputs, results

    clips = make_clips(tmp_path / "clips")
    monkeypatch.setattr(inputs, "clips", lambda dataset, profile=None: clips)
    kw = dict(datasets=["casme2"], models_=["learnet"], protocols_=["loso"], seeds=[0], device="cpu",
              progress=False)
    chunks, real = [], experiment.run_batch
    monkeypatch.setattr(batched, "choose_k", lambda *a, **k: 2)          # as on a GPU with room for two
    monkeypatch.setattr(experiment, "run_batch", lambda prep, folds, **k: chunks.append(len(folds)) or
                        real(prep, folds, **k))
    experiment.reproduce(SETTINGS, results_dir=tmp_path / "batched", **kw)
    n_folds = len(experiment.folds(experiment.prepare("casme2", SETTINGS, df=clips, progress=False), "loso",
                                   SETTINGS, 0))
    assert sum(chunks) == n_folds - n_folds % 2 and set(chunks) == {2}   # pairs, a single fold left alone
    batched_records = results.load_records(tmp_path / "batched")
    assert len(batched_records) == n_folds
    monkeypatch.setattr(batched, "choose_k", lambda *a, **k: 1)          # on a CPU: one run after another
    chunks.clear()
    experiment.reproduce(SETTINGS, results_dir=tmp_path / "single", **kw)
    assert chunks == []
    single = results.load_records(tmp_path / "single")
    ident = ["dataset", "protocol", "model", "seed", "fold"]
    # the same runs recorded (their equality within the tolerance: test_run_batch_writes_run_folds_records)
    assert single[ident].sort_values(ident).values.tolist() == batched_records[ident].sort_values(ident).values.tolist()


# the matlab profile's training settings (init, shuffle, momentum, weight decay) on the small runs here
_MATLAB = profiles.load("matlab")
MATLAB = dataclasses.replace(PROFILE, init=_MATLAB.init, shuffle=_MATLAB.shuffle, momentum=_MATLAB.momentum,
                             weight_decay=_MATLAB.weight_decay)


def fresh_matlab(seed: int) -> models.LEARNet:
    return train.initialise(fresh(seed), MATLAB)  # what run_fold / run_batch do after models.build


def test_matlab_settings_one_run_is_fit_to_the_bit(data, tmp_path):
    """Two parameter groups (no decay on the conv/linear biases), one order for all epochs,
    N(0, 0.01²) initial weights: a batch of one run is fit's run, checkpoint included."""
    assert (MATLAB.init, MATLAB.shuffle, MATLAB.weight_decay) == ("matlab-r2018a", "once", 1e-4)
    x, y = data
    net0 = fresh_matlab(3)
    h0 = train.fit(net0, x, y, MATLAB, val=(x[:12], y[:12]), seed=3, device="cpu", progress=False,
                   checkpoint=tmp_path / "fit.pt")
    net = fresh_matlab(3)
    [h] = train.fit_many([net], [x], [y], MATLAB, vals=[(x[:12], y[:12])], seeds=[3], device="cpu",
                         progress=False, checkpoints=[tmp_path / "many.pt"])
    assert h == h0
    assert all(torch.equal(weights(net0)[k], v) for k, v in weights(net).items())
    a, b = train.load_checkpoint(tmp_path / "fit.pt"), train.load_checkpoint(tmp_path / "many.pt")
    assert a["settings"] == b["settings"] and a["settings"]["shuffle"] == "once"
    assert a["optimizer"]["param_groups"] == b["optimizer"]["param_groups"]
    assert [g["weight_decay"] for g in a["optimizer"]["param_groups"]] == [1e-4, 0.0]
    assert set(a["optimizer"]["state"]) == set(b["optimizer"]["state"])
    assert all(torch.equal(a["optimizer"]["state"][i]["momentum_buffer"], b["optimizer"]["state"][i]["momentum_buffer"])
               for i in a["optimizer"]["state"])
    # and these are other runs than the paper profile's: the settings matter
    other = fresh(3)
    h_paper = train.fit(other, x, y, PROFILE, val=(x[:12], y[:12]), seed=3, device="cpu", progress=False)
    assert abs(h_paper["loss"][1] - h0["loss"][1]) > 1e-3


def test_matlab_settings_k_runs_of_different_sizes_equal_separate_runs(data):
    x, y = data
    spec = [(7, slice(None), (x[:12], y[:12])), (8, slice(0, 23), None), (9, slice(4, None), (x[5:20], y[5:20]))]
    alone = []
    for seed, part, val in spec:
        net = fresh_matlab(seed)
        h = train.fit(net, x[part], y[part], MATLAB, val=val, seed=seed, device="cpu", progress=False)
        alone.append((h, weights(net)))
    nets = [fresh_matlab(seed) for seed, _, _ in spec]
    hists = batched.fit_many(nets, [x[s] for _, s, _ in spec], [y[s] for _, s, _ in spec], MATLAB,
                             vals=[v for _, _, v in spec], seeds=[s for s, _, _ in spec], device="cpu", progress=False)
    for (h0, w0), h, net in zip(alone, hists, nets):
        assert_close_runs(h, weights(net), h0, w0)
    # the stack shuffled every epoch draws other orders from epoch 1 on: far outside the tolerance (measured
    # ~1e-3 relative in the second epoch's losses; N(0, 0.01²) weights at lr 1e-3 barely move, the losses do)
    every = batched.fit_many([fresh_matlab(seed) for seed, _, _ in spec], [x[s] for _, s, _ in spec],
                             [y[s] for _, s, _ in spec], dataclasses.replace(MATLAB, shuffle="every-epoch"),
                             seeds=[s for s, _, _ in spec], device="cpu", progress=False)
    assert [h["loss"][0] for h in every] == [h["loss"][0] for h in hists]  # epoch 0: the same permutation
    assert max(abs(e["loss"][1] / h["loss"][1] - 1) for e, h in zip(every, hists)) > 10 * RTOL
