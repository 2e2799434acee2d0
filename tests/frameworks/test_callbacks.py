"""lossdoctor's callbacks in Lightning, the Hugging Face Trainer and Keras 3: added to the trainer,
they give the diagnosis `lossdoctor run` gives on the same script (the scripts in scripts/ take
``--callback DIR``), warn of a plateau live, stop the fit only when asked, write the report where
the framework keeps its logs, and never break the fit with an error of their own.

Opt-in: `pip install -e ".[frameworks]"`, then `python -m pytest -m frameworks tests/frameworks`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_frameworks import (
    BUG_CAUSES,
    ENV,
    FRAMEWORKS,
    SCRIPTS,
    TIMEOUT,
    needs,
    top_cause,
    watched,
)
from torch import nn
from torch.nn.modules import module as nn_module
from torch.utils.data import DataLoader, TensorDataset

pytestmark = pytest.mark.frameworks

BY_NAME = {f.name: f for f in FRAMEWORKS}
#: Each framework's healthy run and one injected bug, compared with `lossdoctor run`.
CASES = [("lightning", "none"), ("lightning", "scale"), ("hf_trainer", "none"),
         ("hf_trainer", "lr"), ("keras", "none"), ("keras", "scale")]
REPORT_FILES = ("lossdoctor.json", "lossdoctor.html", "lossdoctor.md")
#: Epochs a run with random labels is given; a plateau stops it long before.
MAX_EPOCHS = 40


def with_callback(script: str, directory: Path, *args: str) -> tuple[dict, float]:
    """The script run plainly with ``--callback DIR``: the report its callback wrote, and the
    seconds the run took (training and diagnosis)."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, script, *args, "--callback", str(directory)],
                          cwd=SCRIPTS, env=ENV, capture_output=True, text=True, timeout=TIMEOUT)
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    assert "lossdoctor stopped watching" not in done.stderr, done.stderr[-3000:]
    return json.loads((directory / "lossdoctor.json").read_text()), seconds


@pytest.mark.parametrize("name,bug", CASES, ids=[f"{n}-{b}" for n, b in CASES])
def test_the_callback_gives_the_diagnosis_lossdoctor_run_gives(name, bug, tmp_path):
    framework = BY_NAME[name]
    needs(framework)
    args = ("--bug", bug) if bug != "none" else ()
    started = time.monotonic()
    reference = watched(framework.script, *args).report
    run_seconds = time.monotonic() - started
    report, seconds = with_callback(framework.script, tmp_path, *args)
    print(f"\n{name} {bug}: callback {top_cause(report)} in {seconds:.0f}s, "
          f"run {top_cause(reference)} in {run_seconds:.0f}s")
    assert all((tmp_path / f).exists() for f in REPORT_FILES)
    assert report["steps"] == reference["steps"] == framework.steps
    assert report["summary"]["validation_passes"] == reference["summary"]["validation_passes"]
    assert top_cause(report) == top_cause(reference), [c["id"] for c in report["causes"]]
    if bug != "none":
        assert top_cause(report) == BUG_CAUSES[bug]
        return
    assert report["status"] == "healthy", report["causes"]


# --- in the test's own process: plateaus, stops, errors -----------------------------------------


def _random_labels(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features that say nothing about the labels: the validation loss goes nowhere."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(rows, 6)).astype(np.float32), rng.integers(0, 2, rows)


def _hooks_are_off() -> bool:
    return (F.cross_entropy.__module__ == "torch.nn.functional"
            and not nn_module._global_forward_pre_hooks and not nn_module._global_forward_hooks)


def _lightning_fit(callback, directory: Path, epochs: int = MAX_EPOCHS):
    import lightning as L

    class Classifier(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))

        def training_step(self, batch, batch_idx):
            return F.cross_entropy(self.net(batch[0]), batch[1])

        def validation_step(self, batch, batch_idx):
            self.log("val_loss", F.cross_entropy(self.net(batch[0]), batch[1]))

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-2)

    L.seed_everything(0, verbose=False)
    loaders = [DataLoader(TensorDataset(*map(torch.as_tensor, _random_labels(200, seed))),
                          batch_size=20) for seed in (1, 2)]
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=directory,
                        callbacks=[callback])
    trainer.fit(Classifier(), *loaders)
    return trainer


def test_lightning_warns_of_a_plateau_and_stops_there_when_asked(tmp_path):
    needs(BY_NAME["lightning"])
    from lossdoctor.integrations.lightning import LossDoctorCallback

    messages = []
    callback = LossDoctorCallback(stop_on_plateau=True, announce=messages.append, render=False,
                                  budget=0)
    trainer = _lightning_fit(callback, tmp_path)
    assert len(messages) == 1 and "constant guess" in messages[0]
    assert trainer.current_epoch < MAX_EPOCHS
    assert callback.report["curve"]["stopped_early"] is True
    assert all((tmp_path / f).exists() for f in REPORT_FILES)  # trainer.log_dir
    assert _hooks_are_off()


def test_lightning_only_warns_without_stop_on_plateau(tmp_path):
    needs(BY_NAME["lightning"])
    from lossdoctor.integrations.lightning import LossDoctorCallback

    messages = []
    callback = LossDoctorCallback(announce=messages.append, render=False, budget=0)
    trainer = _lightning_fit(callback, tmp_path, epochs=20)
    assert len(messages) == 1
    assert trainer.current_epoch == 20
    assert not callback.report["curve"].get("stopped_early")


def test_an_error_inside_lossdoctor_never_breaks_the_fit(tmp_path, monkeypatch):
    needs(BY_NAME["lightning"])
    from lossdoctor.integrations.lightning import LossDoctorCallback
    from lossdoctor.monitor import Monitor

    def broken(monitor, recorder):
        raise ZeroDivisionError("inside lossdoctor")

    monkeypatch.setattr(Monitor, "judge", broken)
    callback = LossDoctorCallback(render=False, budget=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer = _lightning_fit(callback, tmp_path, epochs=5)
    ours = [w for w in caught if "lossdoctor stopped watching" in str(w.message)]
    assert len(ours) == 1 and "ZeroDivisionError" in str(ours[0].message)
    assert trainer.current_epoch == 5  # the fit went on to its end
    assert callback.report is None and _hooks_are_off()


def test_hf_trainer_stops_through_its_control_when_asked(tmp_path):
    needs(BY_NAME["hf_trainer"])
    from transformers import Trainer, TrainingArguments

    from lossdoctor.integrations.transformers import LossDoctorCallback

    class Rows(torch.utils.data.Dataset):
        def __init__(self, seed):
            self.x, self.y = map(torch.as_tensor, _random_labels(200, seed))

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return {"x": self.x[i], "labels": self.y[i]}

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))

        def forward(self, x, labels):
            return {"loss": F.cross_entropy(self.net(x), labels)}

    torch.manual_seed(0)
    messages = []
    callback = LossDoctorCallback(stop_on_plateau=True, announce=messages.append, render=False,
                                  budget=0)
    args = TrainingArguments(output_dir=str(tmp_path), num_train_epochs=MAX_EPOCHS,
                             per_device_train_batch_size=20, learning_rate=1e-2,
                             eval_strategy="epoch", save_strategy="no", report_to=[],
                             use_cpu=True, seed=0, logging_strategy="no", disable_tqdm=True)
    trainer = Trainer(model=Model(), args=args, train_dataset=Rows(1), eval_dataset=Rows(2),
                      callbacks=[callback])
    trainer.train()
    assert len(messages) == 1
    assert trainer.state.epoch < MAX_EPOCHS
    assert callback.report["curve"]["stopped_early"] is True
    assert callback.report["summary"]["validation_passes"] == trainer.state.epoch
    assert all((tmp_path / f).exists() for f in REPORT_FILES)  # args.output_dir
    assert _hooks_are_off()


def test_keras_stops_through_stop_training_when_asked(tmp_path):
    needs(BY_NAME["keras"])
    os.environ["KERAS_BACKEND"] = "torch"
    import keras

    from lossdoctor.integrations.keras import LossDoctorCallback

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    messages = []
    callback = LossDoctorCallback(log_dir=tmp_path, stop_on_plateau=True,
                                  announce=messages.append, render=False, budget=0)
    history = model.fit(*_random_labels(200, 1), validation_data=_random_labels(200, 2),
                        epochs=MAX_EPOCHS, batch_size=20, verbose=0, callbacks=[callback])
    assert len(messages) == 1
    assert len(history.history["val_loss"]) < MAX_EPOCHS
    assert callback.report["curve"]["stopped_early"] is True
    validation = callback.report["curves"]["validation"]
    assert [p["loss"] for p in validation] == pytest.approx(history.history["val_loss"], rel=1e-4)
    assert all((tmp_path / f).exists() for f in REPORT_FILES)
    assert _hooks_are_off()
