"""`lossdoctor logs PATH`: logs written by the real writers (torch's SummaryWriter, and files in
the exact layouts of Lightning's and Keras' CSVLogger and of Hugging Face's trainer_state.json),
from seeded curves and small seeded training runs, are judged right: a flat run is never
healthy, a healthy one has no finding, a diverging one diverges, an overfitting one overfits."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lossdoctor import cli
from lossdoctor.checks import catalogue
from lossdoctor.logs import names
from lossdoctor.logs.open_causes import BY_SYMPTOM
from lossdoctor.logs.series import LogData, LogsError
from lossdoctor.report import html, json_file, markdown, terminal

DATA = Path(__file__).parent / "data" / "logs"
EPOCHS, STEPS_PER_EPOCH, CLASSES = 20, 10, 10
CHANCE = math.log(CLASSES)
KINDS = ("flat", "healthy", "diverging", "overfitting")


# --- curves: (step, epoch, loss) of the training loss at every step, validation once an epoch


def curves(kind: str, seed: int = 0) -> tuple[list, list]:
    rng = np.random.default_rng(seed)
    steps = np.arange(EPOCHS * STEPS_PER_EPOCH)
    ends = np.arange(1, EPOCHS + 1) * STEPS_PER_EPOCH  # the step after each epoch
    train, val = _shapes(kind, steps, ends)
    train = train + 0.02 * rng.standard_normal(train.size)
    val = val + 0.005 * rng.standard_normal(val.size)
    return ([(int(s), int(s) // STEPS_PER_EPOCH, float(v))
             for s, v in zip(steps, train, strict=True)],
            [(int(s) - 1, e, float(v)) for e, (s, v) in enumerate(zip(ends, val, strict=True))])


def _shapes(kind: str, steps, ends):
    if kind == "flat":
        return np.full(steps.size, CHANCE), np.full(ends.size, CHANCE)
    if kind == "healthy":
        return 0.3 + 2.0 * np.exp(-steps / 40), 0.35 + 2.0 * np.exp(-ends / 40)
    if kind == "overfitting":
        rise = 0.08 * np.maximum(ends / STEPS_PER_EPOCH - 6, 0)
        return 0.05 + 2.2 * np.exp(-steps / 40), 0.5 + 1.8 * np.exp(-ends / 20) + rise
    turn = 100  # diverging: falls, then blows up, and is NaN in the last epoch
    train = np.where(steps < turn, 2.3 * np.exp(-steps / 40), 0.2 * np.exp((steps - turn) / 12))
    val = np.where(ends < turn, 2.3 * np.exp(-ends / 40), 0.2 * np.exp((ends - turn) / 12))
    train[-STEPS_PER_EPOCH:], val[-1] = np.nan, np.nan
    return train, val


# --- the writers, in each logger's own layout ------------------------------------------------


def write_lightning_csv(folder: Path, train, val) -> Path:
    """CSVLogger's metrics.csv: one sparse row per logging call (training rows leave val_loss
    empty, validation rows train_loss), columns in the order Lightning writes them."""
    rows = [f"{e},{s},{v},\n" for s, e, v in train] + [f"{e},{s},,{v}\n" for s, e, v in val]
    order = sorted(range(len(rows)), key=lambda i: (int(rows[i].split(",")[1]), i))
    path = folder / "lightning_logs" / "version_0" / "metrics.csv"
    path.parent.mkdir(parents=True)
    path.write_text("epoch,step,train_loss,val_loss\n" + "".join(rows[i] for i in order))
    return path.parent


def write_keras_csv(folder: Path, train, val) -> Path:
    """Keras' CSVLogger: one row per epoch, the epoch's mean training loss as `loss`."""
    path = folder / "training.log.csv"
    lines = ["epoch,loss,val_loss\n"]
    for epoch, (_, _, val_loss) in enumerate(val):
        losses = [v for _, e, v in train if e == epoch]
        lines.append(f"{epoch},{float(np.mean(losses))},{val_loss}\n")
    path.write_text("".join(lines))
    return path


def write_trainer_state(folder: Path, train, val) -> Path:
    """Trainer's trainer_state.json: a log entry every 5 steps (the mean loss since the last),
    an eval entry per epoch, and the closing summary with the run's mean train_loss."""
    history = []
    for start in range(0, len(train), 5):
        chunk = train[start:start + 5]
        step = chunk[-1][0] + 1
        history.append({"epoch": step / STEPS_PER_EPOCH, "grad_norm": 1.0, "learning_rate": 1e-3,
                        "loss": float(np.mean([v for _, _, v in chunk])), "step": step})
        if step % STEPS_PER_EPOCH == 0:
            epoch = step // STEPS_PER_EPOCH
            history.append({"epoch": float(epoch), "eval_loss": val[epoch - 1][2],
                            "eval_runtime": 0.1, "step": step})
    history.append({"epoch": EPOCHS, "step": len(train), "train_loss": 9.9, "train_runtime": 1})
    path = folder / "checkpoint-200" / "trainer_state.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"global_step": len(train), "log_history": history}))
    return folder


def needs_tensorboard() -> None:
    pytest.importorskip("tensorboard", reason='needs tensorboard: pip install "lossdoctor[logs]"')


def write_tensorboard(folder: Path, train, val) -> Path:
    needs_tensorboard()
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(log_dir=str(folder / "runs" / "exp")) as writer:
        for step, _, value in train:
            writer.add_scalar("train/loss", value, step)
        for step, _, value in val:
            writer.add_scalar("val/loss", value, step)
    return folder / "runs" / "exp"


WRITERS = {"tensorboard": write_tensorboard, "lightning_csv": write_lightning_csv,
           "keras_csv": write_keras_csv, "trainer_state": write_trainer_state}


def diagnose(path: Path, tmp_path: Path, *options: str) -> dict:
    out = tmp_path / "report.json"
    assert cli.main(["logs", str(path), "--json", str(out), *options]) == 0
    return json.loads(out.read_text())


# --- the four runs in every format ----------------------------------------------------------


@pytest.mark.parametrize("form", WRITERS)
def test_a_flat_run_is_never_called_healthy(form, tmp_path):
    report = diagnose(WRITERS[form](tmp_path, *curves("flat")), tmp_path)
    assert report["status"] == "unexplained"
    assert report["symptom"]["kind"] == "stalled"
    answers = {a["question"]: a["answer"] for a in report["logs"]["answers"]}
    assert answers["flat"] is True and answers["at_chance"] is None
    assert "lr_too_low" in {i for g in report["logs"]["open_causes"] for i in g["ids"]}
    assert report["logs"]["command"] == "lossdoctor run --stop-on-plateau train.py"


@pytest.mark.parametrize("form", WRITERS)
def test_a_flat_run_at_the_chance_level_given_is_at_chance(form, tmp_path):
    report = diagnose(WRITERS[form](tmp_path, *curves("flat")), tmp_path,
                      "--classes", str(CLASSES))
    assert report["symptom"]["kind"] == "at_chance"
    assert report["logs"]["chance_loss"] == pytest.approx(CHANCE)
    assert report["curve"]["verdict"] == "at_chance"


@pytest.mark.parametrize("form", WRITERS)
def test_a_healthy_run_has_no_finding(form, tmp_path):
    report = diagnose(WRITERS[form](tmp_path, *curves("healthy")), tmp_path,
                      "--classes", str(CLASSES))
    assert report["status"] == "healthy", report["symptom"]
    assert report["causes"] == [] and report["logs"]["open_causes"] == []
    assert report["logs"]["command"] == ""


@pytest.mark.parametrize("form", WRITERS)
def test_a_diverging_run_diverges(form, tmp_path):
    report = diagnose(WRITERS[form](tmp_path, *curves("diverging")), tmp_path)
    assert report["symptom"]["kind"] == "diverging"
    assert "NaN" in report["symptom"]["message"]
    assert "lr_too_high" in report["logs"]["open_causes"][0]["ids"]


@pytest.mark.parametrize("form", WRITERS)
def test_an_overfitting_run_overfits(form, tmp_path):
    report = diagnose(WRITERS[form](tmp_path, *curves("overfitting")), tmp_path)
    assert [c["id"] for c in report["causes"]] == ["overfitting"]
    assert report["causes"][0]["evidence"]["train_loss_final"] < 0.2
    assert report["logs"]["command"] == "lossdoctor run train.py"


# --- real logs -------------------------------------------------------------------------------


def _trained_tensorboard_log(folder: Path, lr: float) -> Path:
    """A small seeded classifier trained as a user would, logging to TensorBoard."""
    needs_tensorboard()
    from torch.utils.tensorboard import SummaryWriter

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(640, 8, generator=generator)
    y = (x[:, :4] + 0.3 * torch.randn(640, 4, generator=generator)).argmax(1)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    step = 0
    with SummaryWriter(log_dir=str(folder)) as writer:
        for _ in range(15):
            for batch in torch.randperm(512, generator=generator).split(32):
                loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                writer.add_scalar("Loss/train", loss.item(), step)
                writer.add_scalar("lr", lr, step)
                step += 1
            with torch.no_grad():
                writer.add_scalar("Loss/val", torch.nn.functional.cross_entropy(
                    model(x[512:]), y[512:]).item(), step)
    return folder


@pytest.mark.parametrize(("lr", "status"), [(0.2, "healthy"), (0.0, "unexplained")])
def test_a_real_tensorboard_log_is_judged_right(lr, status, tmp_path):
    report = diagnose(_trained_tensorboard_log(tmp_path / "tb", lr), tmp_path, "--classes", "4")
    assert report["status"] == status
    series = report["logs"]["series"]
    assert (series["train"]["name"], series["validation"]["name"], series["lr"]["name"]) == (
        "Loss/train", "Loss/val", "lr")
    assert series["validation"]["points"] == 15


def test_keras_tensorboard_folders_name_the_phase(tmp_path):
    """Keras' TensorBoard callback writes `epoch_loss` twice, in train/ and validation/."""
    needs_tensorboard()
    from torch.utils.tensorboard import SummaryWriter

    train, val = curves("overfitting")
    epoch_means = [float(np.mean([v for _, e, v in train if e == epoch]))
                   for epoch in range(EPOCHS)]
    for phase, losses in (("train", epoch_means), ("validation", [v for _, _, v in val])):
        with SummaryWriter(log_dir=str(tmp_path / "logs" / phase)) as writer:
            for epoch, loss in enumerate(losses):
                writer.add_scalar("epoch_loss", loss, epoch)
    report = diagnose(tmp_path / "logs", tmp_path)
    series = report["logs"]["series"]
    assert (series["train"]["name"], series["validation"]["name"]) == (
        "train/epoch_loss", "validation/epoch_loss")
    assert [c["id"] for c in report["causes"]] == ["overfitting"]


@pytest.mark.parametrize("log", ["lightning_{}", "lightning_tb_{}", "keras_{}.csv", "hf_{}"])
@pytest.mark.parametrize(("kind", "status"), [("healthy", "healthy"), ("flat", "unexplained")])
def test_logs_written_by_the_frameworks_are_judged_right(log, kind, status, tmp_path):
    """tests/data/logs: written by Lightning's CSVLogger and TensorBoardLogger, Keras' CSVLogger
    and HF's Trainer (make_logs.py), the flat run with a learning rate a millionth of the
    healthy one's."""
    if "_tb_" in log:
        needs_tensorboard()
    report = diagnose(DATA / log.format(kind), tmp_path)
    assert report["status"] == status
    if kind == "flat":
        with_chance = diagnose(DATA / log.format(kind), tmp_path, "--classes", "4")
        assert with_chance["symptom"]["kind"] == "at_chance"


def test_the_trainer_summary_is_not_a_training_curve():
    from lossdoctor.logs.detect import read_logs

    data = read_logs(str(DATA / "hf_healthy"))
    assert "train_runtime" not in data.series and "train_loss" not in data.series
    assert names.choose(data, {}).train.name == "loss"


# --- what curves can tell besides ------------------------------------------------------------


def test_a_learning_rate_that_collapsed_while_the_loss_fell_is_found(tmp_path):
    """Any CSV with a step column: the rate falls below a hundredth of its peak a quarter of the
    way in, while the loss was falling, and the loss stops there."""
    rng = np.random.default_rng(0)
    lines = ["step,train_loss,lr\n"]
    for step in range(400):
        loss = 1.0 + 1.3 * math.exp(-step / 30) if step < 100 else 1.0 + 1.3 * math.exp(-100 / 30)
        lines.append(f"{step},{loss + 0.01 * rng.standard_normal()},"
                     f"{0.1 if step < 100 else 1e-6}\n")
    (tmp_path / "log.csv").write_text("".join(lines))
    report = diagnose(tmp_path / "log.csv", tmp_path)
    assert report["causes"][0]["id"] == "lr_schedule"
    assert report["causes"][0]["evidence"]["collapse_step"] == 100
    assert any("no validation loss" in note for note in report["notes"])
    answers = {a["question"]: a["answer"] for a in report["logs"]["answers"]}
    assert answers["lr_schedule"] is True and answers["overfitting"] is None


def test_a_swinging_validation_loss_is_oscillating(tmp_path):
    lines = ["epoch,loss,val_loss\n"]
    for epoch in range(20):
        swing = 0.3 if epoch % 2 else -0.3
        lines.append(f"{epoch},{0.8 + 1.5 * math.exp(-epoch)},{1.0 + swing}\n")
    (tmp_path / "keras.csv").write_text("".join(lines))
    report = diagnose(tmp_path / "keras.csv", tmp_path)
    assert report["symptom"]["kind"] == "oscillating"
    assert "batch_size" in {i for g in report["logs"]["open_causes"] for i in g["ids"]}


def test_a_last_pass_that_jumped_is_not_answered_as_a_loss_that_did_not_rise(tmp_path):
    lines = ["epoch,loss,val_loss\n"]
    for epoch in range(8):
        val = 0.3 * math.exp(-epoch) + 0.01 if epoch < 7 else 0.2
        lines.append(f"{epoch},{0.3 * math.exp(-epoch)},{val}\n")
    (tmp_path / "keras.csv").write_text("".join(lines))
    report = diagnose(tmp_path / "keras.csv", tmp_path)
    assert report["curve"]["verdict"] == "jumped"
    answers = {a["question"]: a for a in report["logs"]["answers"]}
    assert answers["diverging"]["answer"] is None
    assert "did not rise" not in answers["diverging"]["detail"]


def test_the_report_renders_everywhere_and_says_what_logs_cannot_tell(tmp_path):
    report = diagnose(write_lightning_csv(tmp_path, *curves("flat")), tmp_path, "--script",
                      "train.py --epochs 20")
    text = " ".join(terminal.text(report).split())
    assert "logs alone cannot tell why" in text
    assert "lossdoctor run --stop-on-plateau train.py --epochs 20" in text
    assert "no_signal" in text and "training loss `train_loss`" in text
    assert "lossdoctor run --stop-on-plateau" in markdown.render(report)
    assert "logs alone cannot tell why" in html.render(report)
    saved = tmp_path / "again.json"
    json_file.write(report, str(saved))
    assert json_file.read(str(saved))["logs"]["command"] == report["logs"]["command"]


def test_every_open_cause_is_a_declared_cause():
    declared = set(catalogue())
    for groups in BY_SYMPTOM.values():
        assert {i for g in groups for i in g.ids} <= declared


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "role"), [
    ("loss", "train"), ("train_loss", "train"), ("train/loss", "train"),
    ("Loss_train/Loss", "train"), ("train_loss_step", "train"), ("val_loss", "validation"),
    ("eval_loss", "validation"), ("validation/epoch_loss", "validation"),
    ("valLoss", "validation"), ("lr", "lr"), ("learning_rate", "lr"), ("lr-Adam", "lr"),
    ("val_accuracy", None), ("epoch", None), ("train/grad_norm", None)])
def test_series_are_recognized_by_their_names(name, role):
    assert names.role_of(name) == role


def _log(**series) -> LogData:
    data = LogData("log.csv", "csv")
    for name, count in series.items():
        for step in range(count):
            data.series_named(name).add(step, None, 1.0)
    return data


def test_the_training_loss_with_more_points_is_chosen():
    chosen = names.choose(_log(train_loss_step=40, train_loss_epoch=4, val_loss=4), {})
    assert (chosen.train.name, chosen.validation.name) == ("train_loss_step", "val_loss")


def test_two_losses_that_names_cannot_order_ask_the_user():
    data = _log(loss_cls=40, loss_box=40, val_loss=4)
    with pytest.raises(LogsError, match="--train NAME"):
        names.choose(data, {})
    assert names.choose(data, {"train": "loss_box"}).train.name == "loss_box"
    with pytest.raises(LogsError, match="no series named 'loss'"):
        names.choose(data, {"train": "loss"})


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "said"), [
    (None, "no such file or folder"),
    ("", "is empty"),
    ("epoch,accuracy\n0,0.5\n1,0.6\n", "no loss found"),
    ("time,loss\n0,0.5\n", "no step or epoch column"),
])
def test_bad_input_is_one_line_and_exit_status_2(content, said, tmp_path, capfd):
    path = tmp_path / "metrics.csv"
    if content is not None:
        path.write_text(content)
    assert cli.main(["logs", str(path)]) == 2
    error = capfd.readouterr().err
    assert said in error and "Traceback" not in error
    assert len(error.strip().splitlines()) == 1


def test_an_unknown_format_says_what_to_give(tmp_path, capfd):
    (tmp_path / "notes.txt").write_text("loss went down\n")
    assert cli.main(["logs", str(tmp_path / "notes.txt")]) == 2
    assert "Give a TensorBoard log folder" in capfd.readouterr().err


def test_tensorboard_logs_without_tensorboard_say_what_to_install(tmp_path, monkeypatch, capfd):
    (tmp_path / "events.out.tfevents.1.host").write_bytes(b"")
    for name in [n for n in sys.modules if n.split(".")[0] == "tensorboard"] + ["tensorboard"]:
        monkeypatch.setitem(sys.modules, name, None)  # import fails, as if not installed
    assert cli.main(["logs", str(tmp_path)]) == 2
    assert 'pip install "lossdoctor[logs]"' in capfd.readouterr().err


def test_the_command_line_prints_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "lossdoctor", "logs", str(tmp_path / "x")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr and "Traceback" not in result.stderr


def test_the_readme_example_is_what_lossdoctor_prints(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.chdir(Path(__file__).parents[1])
    assert cli.main(["logs", "tests/data/logs/lightning_flat", "--classes", "4"]) == 0
    assert capsys.readouterr().out in Path("README.md").read_text()


def test_two_runs_in_one_folder_ask_which():
    data = _log(**{"baseline/train/loss": 40, "big_model/train/loss": 40})
    with pytest.raises(LogsError, match="baseline/train/loss, big_model/train/loss"):
        names.choose(data, {})


def test_a_flat_loss_below_the_chance_level_given_is_still_flat(tmp_path):
    """A chance level given too high (ln N for imbalanced classes) must not hide a flat run."""
    report = diagnose(write_keras_csv(tmp_path, *curves("flat")), tmp_path, "--chance", "5")
    assert report["status"] == "unexplained" and report["symptom"]["kind"] == "stalled"


def test_a_flat_validation_loss_without_a_training_loss_is_not_healthy(tmp_path):
    lines = ["epoch,val_loss\n"] + [f"{e},{2.3 + 0.01 * (-1) ** e}\n" for e in range(15)]
    (tmp_path / "val_only.csv").write_text("".join(lines))
    report = diagnose(tmp_path / "val_only.csv", tmp_path)
    assert report["status"] == "unexplained" and report["symptom"]["kind"] == "stalled"
    assert report["logs"]["series"]["train"] is None


def test_of_trainer_checkpoints_the_last_is_read(tmp_path):
    write_trainer_state(tmp_path, *curves("healthy"))
    earlier = tmp_path / "checkpoint-100"
    earlier.mkdir()
    (earlier / "trainer_state.json").write_text(json.dumps({"log_history": []}))
    report = diagnose(tmp_path, tmp_path)
    assert report["logs"]["path"].endswith("checkpoint-200/trainer_state.json")


def test_a_folder_of_several_runs_asks_which(tmp_path, capfd):
    for version in ("version_0", "version_1"):
        (tmp_path / version).mkdir()
        (tmp_path / version / "metrics.csv").write_text("epoch,step,train_loss\n0,0,1.0\n")
    assert cli.main(["logs", str(tmp_path)]) == 2
    assert "holds several logs" in capfd.readouterr().err


def test_a_log_that_cannot_be_opened_is_one_line(tmp_path, capfd, monkeypatch):
    from lossdoctor.logs import csv_log

    path = tmp_path / "metrics.csv"
    path.write_text("step,loss\n0,1.0\n")

    def unreadable(name):  # as open() fails on a file without read permission
        raise PermissionError(13, "Permission denied", name)

    monkeypatch.setattr(csv_log, "read", unreadable)
    assert cli.main(["logs", str(path)]) == 2
    error = capfd.readouterr().err
    assert f"cannot read {path}: Permission denied." in error
    assert "Traceback" not in error and len(error.strip().splitlines()) == 1
