"""train.fit / predict: a step lowers the loss, determinism for a seed, history shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import standin
import torch

from learnet_lite import models, train
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
