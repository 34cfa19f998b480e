"""train.fit / predict: a step lowers the loss, determinism for a seed, history shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import standin
import torch

from learnet_lite import models, profiles, train
from learnet_lite.profiles import Profile


@pytest.fixture(scope="module")
def batch():
    return standin.dynamic_images(5, 5, frames=6, size=112, seed=0)  # 25 images: one paper batch


def test_sgd_steps_reduce_the_loss_on_a_fixed_batch(batch):
    x, y = batch
    torch.manual_seed(0)
    model = models.build("learnet", 5, dropout=0.0)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_sgd_multi_tensor_is_bit_identical_to_plain_sgd(batch):
    x, y = batch
    flat = lambda m: torch.cat([p.detach().flatten() for p in m.parameters()])  # noqa: E731
    weights = []
    for make in (lambda m: torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9), train.sgd):
        torch.manual_seed(0)
        model = models.build("learnet", 5).train()
        start = flat(model)
        opt = make(model)
        for step in range(3):
            torch.manual_seed(step)  # same dropout masks
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x[:8]), y[:8]).backward()
            opt.step()
        weights.append(flat(model))
        assert not torch.equal(weights[-1], start)  # the steps moved the weights
    assert opt.param_groups[0]["foreach"]
    assert torch.equal(weights[0], weights[1])


def test_fit_history_and_determinism(batch):
    x, y = batch
    runs = []
    for _ in range(2):
        torch.manual_seed(123)  # different global state before: fit must reseed
        model = models.build("learnet", 5)
        hist = train.fit(model, x, y, Profile(epochs=2, batch_size=10), val=(x[:10], y[:10]), seed=7,
                         device="cpu", progress=False)
        runs.append((hist, train.predict(model, x, device="cpu")))
    (h1, p1), (h2, p2) = runs
    assert set(h1) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 2 for v in h1.values())
    assert h1 == h2
    np.testing.assert_array_equal(p1, p2)
    assert p1.dtype == np.int64 and p1.shape == (25,) and set(p1) <= set(range(5))


def test_fit_seed_matters(batch):
    x, y = batch
    hists = [train.fit(models.build("learnet", 5), x, y, Profile(epochs=1, batch_size=10), seed=s,
                       device="cpu", progress=False) for s in (0, 1)]
    assert hists[0]["loss"] != hists[1]["loss"]


def test_fit_learns_the_standin(batch):
    x, y = batch
    torch.manual_seed(0)
    model = models.build("learnet", 5)
    hist = train.fit(model, x, y, Profile(epochs=4), seed=0, device="cpu", progress=False)
    assert hist["loss"][-1] < hist["loss"][0]
    assert hist["val_loss"] == []


def test_bad_inputs(batch):
    x, y = batch
    model = models.build("learnet", 5)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        train.fit(model, x[:, 0], y, epochs=1, progress=False)
    with pytest.raises(ValueError, match="labels"):
        train.fit(model, x, y[:3], epochs=1, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        train.fit(model, x, y, epochs=0, progress=False)


class Killed(RuntimeError):
    pass


def test_checkpoint_every_k_epochs_resumes_from_the_last_saved_one(batch, tmp_path):
    x, y = batch
    kw = dict(profile=Profile(epochs=5, batch_size=10, checkpoint_every=2), seed=3, device="cpu", progress=False)

    def fresh():
        torch.manual_seed(0)
        return models.build("learnet", 5)

    whole = train.fit(fresh(), x, y, checkpoint=tmp_path / "a.pt", **kw)
    assert train.load_checkpoint(tmp_path / "a.pt")["epoch"] == 5  # the last epoch is always saved
    saved = []

    def kill_at_3(epoch, history):
        if (tmp_path / "b.pt").is_file():
            saved.append(train.load_checkpoint(tmp_path / "b.pt")["epoch"])
        if epoch == 3:
            raise Killed

    with pytest.raises(Killed):
        train.fit(fresh(), x, y, checkpoint=tmp_path / "b.pt", on_epoch=kill_at_3, **kw)
    assert saved == [2, 2]  # nothing written after epochs 1 and 3
    epochs_run = []
    resumed = train.fit(fresh(), x, y, checkpoint=tmp_path / "b.pt", resume=True,
                        on_epoch=lambda e, h: epochs_run.append(e), **kw)
    assert epochs_run == [3, 4, 5] and resumed == whole
    with pytest.raises(ValueError, match="checkpoint_every"):
        train.fit(fresh(), x, y, Profile(checkpoint_every=0), epochs=1, progress=False)


def test_auto_device():
    assert train.resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert train.resolve_device("cpu").type == "cpu"


def test_standin_is_deterministic_and_balanced():
    x1, y1 = standin.dynamic_images(2, 3, frames=4, size=32, seed=3)
    x2, y2 = standin.dynamic_images(2, 3, frames=4, size=32, seed=3)
    assert x1.shape == (6, 3, 32, 32) and x1.dtype == torch.float32
    torch.testing.assert_close(x1, x2)
    assert y1.tolist() == [0, 0, 1, 1, 2, 2]
    # a still clip has a (near) zero dynamic image: the class lives in the motion
    video, _ = standin.clips(1, 2, frames=5, size=32, amplitude=0.0, seed=0)
    from learnet_lite.dynamic import dynamic_image
    still = dynamic_image(video[:, :1].repeat(5, axis=1))
    assert np.abs(still).max() < 1e-4


class _Touch:
    """Unpickling this object creates a file: what a hostile 'checkpoint' could do."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "ran"
    torch.save({"version": train.CHECKPOINT_VERSION, "epoch": 1, "payload": _Touch(marker)}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="not a training checkpoint"):
        train.load_checkpoint(tmp_path / "bad.pt")
    assert not marker.exists()                      # weights_only: nothing was executed
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="junk.pt: not a training checkpoint"):
        train.load_checkpoint(tmp_path / "junk.pt")


# -- the profile's init, shuffle and weight_decay (the matlab profile's reading: train's docstring) --------------

def _tiny(seed: int = 0) -> torch.nn.Module:
    """A net of every layer kind the settings treat apart (conv, BatchNorm, dropout, linear), fast."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=4), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Dropout(0.5),
                               torch.nn.Linear(4, 5))


def _state(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_matlab_init_is_n0_001_weights_zero_biases_and_seeded():
    torch.manual_seed(0)
    net = models.build("learnet", 5)
    with torch.no_grad():  # start away from every value matlab_init sets
        for m in net.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear, torch.nn.BatchNorm2d)):
                m.bias.fill_(0.5)
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.fill_(2.0)
    assert train.matlab_init(net) is net
    big = net.fc.linear.weight.detach()  # 4096 x 256 weights
    assert big.numel() > 10**6
    assert abs(float(big.std()) - 0.01) < 1e-4 and abs(float(big.mean())) < 1e-4
    convs = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(convs) > 10
    for m in convs:  # every layer, not the big one only (Glorot's std would be ~0.02-0.5 here)
        assert 0.008 < float(m.weight.detach().std()) < 0.012, m
        assert not m.bias.any()
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(bool((m.weight == 1).all()) and not m.bias.any() for m in bns)
    # drawn from the global generator: a seed makes it reproducible, another seed differs
    runs = []
    for seed in (3, 3, 4):
        torch.manual_seed(seed)
        runs.append(_state(train.matlab_init(models.build("learnet", 5))))
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])
    assert not torch.equal(runs[0]["fc.linear.weight"], runs[2]["fc.linear.weight"])
    # layers without a bias (torchvision's ResNet convs) are fine
    resnet = train.matlab_init(models.build("resnet18", 5))
    assert abs(float(resnet.layer4[1].conv2.weight.detach().std()) - 0.01) < 2e-4


def test_initialise_applies_the_profiles_init():
    torch.manual_seed(1)
    built = models.build("learnet", 5)
    before = _state(built)
    assert train.initialise(built, Profile(init="pytorch")) is built
    assert all(torch.equal(before[k], v) for k, v in _state(built).items())  # pytorch: as built
    torch.manual_seed(1)
    got = _state(train.initialise(models.build("learnet", 5), Profile(init="matlab-r2018a")))
    torch.manual_seed(1)
    want = _state(train.matlab_init(models.build("learnet", 5)))
    assert all(torch.equal(want[k], got[k]) for k in want)
    assert not torch.equal(got["fc.linear.weight"], before["fc.linear.weight"])
    assert profiles.load("matlab").init == "matlab-r2018a"


def _orders(monkeypatch, x, y, profile, seed=5) -> list[list[int]]:
    """The training order of each epoch of a fit (validation passes are not shuffled, not recorded)."""
    orders, real = [], train._batches

    def spy(n, batch_size, generator, device):
        out = real(n, batch_size, generator, device)
        if generator is not None:
            orders.append(torch.cat(out).tolist())
        return out

    monkeypatch.setattr(train, "_batches", spy)
    train.fit(_tiny(), x, y, profile, val=(x[:5], y[:5]), seed=seed, device="cpu", progress=False)
    monkeypatch.undo()
    return orders


def test_shuffle_once_keeps_one_order_and_every_epoch_draws_a_new_one(batch, monkeypatch):
    x, y = batch
    once = _orders(monkeypatch, x, y, Profile(epochs=3, batch_size=10, shuffle="once"))
    every = _orders(monkeypatch, x, y, Profile(epochs=3, batch_size=10, shuffle="every-epoch"))
    assert len(once) == len(every) == 3
    assert sorted(once[0]) == list(range(25)) and once[0] != list(range(25))  # a permutation, drawn
    assert once[0] == once[1] == once[2]
    assert every[0] == once[0]  # epoch 0's permutation is the run's seed's, either way
    assert every[1] != every[0] and every[2] != every[1]
    # every-epoch is what fit always drew: epoch e's order from _epoch_seed(seed, e)
    assert all(train._order_seed(5, e, "every-epoch") == train._epoch_seed(5, e) for e in range(4))
    assert all(train._order_seed(5, e, "once") == train._epoch_seed(5, 0) for e in range(4))
    assert _orders(monkeypatch, x, y, Profile(epochs=1, batch_size=10, shuffle="once"), seed=6)[0] != once[0]


def test_weight_decay_is_matlabs_l2_not_on_conv_and_linear_biases():
    net = _tiny()
    with torch.no_grad():
        net[1].bias.fill_(0.5)  # BatchNorm's offset: decayed too (OffsetL2Factor 1)
        net[1].weight.fill_(2.0)
    profile = Profile(lr=0.1, momentum=0.9, weight_decay=0.01)
    opt = train.sgd(net, profile)
    assert opt.defaults["foreach"] and [g["weight_decay"] for g in opt.param_groups] == [0.01, 0.0]
    assert train.param_groups(net, 0.01) == [(["0.weight", "1.weight", "1.bias", "6.weight"], 0.01),
                                             (["0.bias", "6.bias"], 0.0)]
    before = {k: v.detach().clone() for k, v in net.named_parameters()}
    for p in net.parameters():
        p.grad = torch.zeros_like(p)  # no loss gradient: only the L2 term moves a parameter
    opt.step()
    for name, p in net.named_parameters():
        if name.endswith("bias") and name != "1.bias":
            assert torch.equal(p.detach(), before[name]), name  # BiasL2Factor 0
        else:
            torch.testing.assert_close(p.detach(), before[name] - 0.1 * 0.01 * before[name], rtol=1e-6, atol=0)
            assert not torch.equal(p.detach(), before[name]), name
    # weight_decay 0: the one group of SGD(model.parameters()), as before the setting existed
    plain = train.sgd(net, Profile(weight_decay=0.0))
    assert len(plain.param_groups) == 1 and plain.param_groups[0]["params"] == list(net.parameters())


def test_resume_with_shuffle_once_and_weight_decay_equals_an_uninterrupted_run(batch, tmp_path):
    x, y = batch
    profile = Profile(epochs=4, batch_size=10, checkpoint_every=1, shuffle="once", weight_decay=1e-2)
    kw = dict(seed=2, device="cpu", progress=False)
    whole_net = _tiny()
    whole = train.fit(whole_net, x, y, profile, checkpoint=tmp_path / "a.pt", **kw)

    def kill_at_2(epoch, history):
        if epoch == 2:
            raise Killed

    with pytest.raises(Killed):
        train.fit(_tiny(), x, y, profile, checkpoint=tmp_path / "b.pt", on_epoch=kill_at_2, **kw)
    state = train.load_checkpoint(tmp_path / "b.pt")
    assert state["settings"]["shuffle"] == "once" and len(state["optimizer"]["param_groups"]) == 2
    net = _tiny()
    resumed = train.fit(net, x, y, profile, checkpoint=tmp_path / "b.pt", resume=True, **kw)
    assert resumed == whole
    assert all(torch.equal(v, _state(whole_net)[k]) for k, v in _state(net).items())
    # a checkpoint of a shuffle-once run is not continued as an every-epoch one
    with pytest.raises(ValueError, match="shuffle"):
        train.fit(_tiny(), x, y, Profile(epochs=4, batch_size=10, weight_decay=1e-2), checkpoint=tmp_path / "b.pt",
                  resume=True, **kw)
    # a checkpoint written before the setting existed ran every-epoch: it resumes as such, and only as such
    state["settings"].pop("shuffle")
    train.save_checkpoint(tmp_path / "old.pt", state)
    with pytest.raises(ValueError, match="shuffle"):
        train.fit(_tiny(), x, y, profile, checkpoint=tmp_path / "old.pt", resume=True, **kw)
    train.fit(_tiny(), x, y, Profile(epochs=4, batch_size=10, weight_decay=1e-2, checkpoint_every=1),
              checkpoint=tmp_path / "old.pt", resume=True, **kw)
