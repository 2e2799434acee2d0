"""What watching costs an ordinary (not sampled) training step, in lossdoctor's Python calls:
the step time's overhead follows them (issue 12, bench/step_overhead.py)."""

import sys

import torch
from torch import nn

from conftest import calls_in_lossdoctor
from lossdoctor.capture import Recorder, watching
from lossdoctor.capture.module_events import _output_refs
from lossdoctor.capture.replay_losses import output_tensors

#: lossdoctor's Python calls on an ordinary step of a plain loop (zero_grad, model, loss module,
#: backward, step) after its setup is known, as sys.setprofile counts them: 90 in session 10
#: (114 on main 67b05bc), 73 on main ba096c2, 68 in session 26, 59 in session 27 (the loss
#: module past one wrapper, the module wrapper's and the step hook's helpers spelled out), 45 in
#: session 28 (the common cases of thirteen helpers spelled out, _note_target asked only when it
#: has something to do), 28 in session 30 (the steady state's one function per hook point,
#: capture/steady_steps.py, and no wrapper frame for the model's Linear and ReLU), with a little
#: room; each costs ~0.1-0.4 microseconds of the step hot, a few cold after the step's kernels.
CALLS_PER_STEP = 29
#: Python calls that watching adds to each module call of an ordinary step, counting torch's
#: (a check made inside lossdoctor's wrapper runs torch code): the wrapper's own frame alone,
#: for a module of no class lossdoctor watches. 3 on main 01abcf9 (the frame, then
#: torch.compiler.is_compiling() and the torch.jit.is_scripting() it asks; 9 a block below).
CALLS_PER_MODULE_CALL = 1


def _step(model, optimizer, loss_fn, x, y) -> None:
    optimizer.zero_grad()
    loss_fn(model(x), y).backward()
    optimizer.step()


def _small_training():
    """A small MLP's step arguments: model, optimizer, loss and one batch."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    return model, optimizer, nn.CrossEntropyLoss(), torch.randn(16, 8), torch.randint(0, 3, (16,))


def _up_to_an_ordinary_step(recorder: Recorder, training, steps: int) -> None:
    """``steps`` watched steps, then on until the next step is neither sampled nor follows a
    sampled one."""
    for _ in range(steps):
        _step(*training)
    while recorder.sampled or recorder.schedule.is_sampled(recorder.step + 1):
        _step(*training)


def test_an_ordinary_step_stays_within_its_budget_of_python_calls():
    training = _small_training()
    recorder = Recorder()
    with watching(recorder):
        _up_to_an_ordinary_step(recorder, training, 300)  # past the dense first steps and sample
        calls = calls_in_lossdoctor(lambda: _step(*training))
    assert recorder.trace.steps > 300
    assert calls <= CALLS_PER_STEP, calls


def test_blocks_of_the_models_class_inside_it_are_not_taken_for_copies():
    torch.manual_seed(0)
    model = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.ReLU()) for _ in range(5)])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    recorder = Recorder()
    with watching(recorder):
        for _ in range(20):
            _step(model, optimizer, nn.MSELoss(), torch.randn(8, 4), torch.randn(8, 4))
    assert recorder.forwards == 20
    assert recorder.copy_called is None
    assert len(recorder.trace.train_losses()) == 20


def test_output_refs_of_a_tensor_are_those_the_general_search_finds():
    for output in (torch.zeros(3, 4), torch.zeros(()), (torch.zeros(2), torch.zeros(5, 1)),
                   {"logits": torch.zeros(6), "loss": torch.zeros(())}):
        assert [ref() for ref in _output_refs(output)] == output_tensors(output)


def _added_calls(blocks: int) -> int:
    """Python calls (torch's too) that watching adds to an ordinary step of a model of
    ``blocks`` blocks (a Linear and a ReLU in a Sequential each)."""
    torch.manual_seed(0)
    model = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.ReLU()) for _ in range(blocks)])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.MSELoss()
    x, y = torch.randn(8, 4), torch.randn(8, 4)
    bare = calls_in_lossdoctor(lambda: _step(model, optimizer, loss_fn, x, y), where="")
    recorder = Recorder()
    with watching(recorder):
        for _ in range(100):
            _step(model, optimizer, loss_fn, x, y)
        while recorder.sampled or recorder.schedule.is_sampled(recorder.step + 1):
            _step(model, optimizer, loss_fn, x, y)
        watched = calls_in_lossdoctor(lambda: _step(model, optimizer, loss_fn, x, y), where="")
    return watched - bare


def test_torchs_own_classes_inside_the_model_skip_the_wrapper_while_watched():
    """The narrowed model's Linear and ReLU are called through torch's own ``__call__``,
    set on their class while watching and taken off after it; the model's own class (a
    subclass of Sequential) is still watched, so Sequential keeps the wrapper."""

    class Net(nn.Sequential):
        pass

    torch.manual_seed(0)
    model = Net(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    recorder = Recorder()
    with watching(recorder):
        for _ in range(5):
            _step(model, optimizer, nn.CrossEntropyLoss(), torch.randn(16, 8),
                  torch.randint(0, 3, (16,)))
        inside = {cls for cls in (nn.Linear, nn.ReLU, nn.Sequential) if "__call__" in cls.__dict__}
    after = {cls for cls in (nn.Linear, nn.ReLU, nn.Sequential) if "__call__" in cls.__dict__}
    assert inside == {nn.Linear, nn.ReLU}
    assert after == set()
    assert recorder.forwards == 5
    assert len(recorder.trace.train_losses()) == 5


def test_a_deep_models_module_calls_each_cost_one_python_call():
    """Each block adds three module calls (the block, its Linear and its ReLU) and, being of
    the model's own class (Sequential), one compile check; the step's own bookkeeping cancels
    out in the difference."""
    per_block = (_added_calls(60) - _added_calls(20)) / 40
    assert per_block <= 3 * CALLS_PER_MODULE_CALL + 1, per_block


def test_an_ordinary_cpu_step_builds_no_torch_device_in_lossdoctor(monkeypatch):
    """``tensor.device`` builds a torch.device, the costliest read of an ordinary step's
    watching (~15 us of a CPU step, bench/step_overhead.py --handlers): a CPU loss is told
    by ``is_cpu``."""
    built = []
    device = torch.Tensor.device

    def counted(tensor):
        if "lossdoctor" in sys._getframe(1).f_code.co_filename:
            built.append(sys._getframe(1).f_code.co_name)
        return device.__get__(tensor)

    training = _small_training()
    recorder = Recorder()
    with watching(recorder):
        _up_to_an_ordinary_step(recorder, training, 100)
        monkeypatch.setattr(torch.Tensor, "device", property(counted))
        _step(*training)
    assert built == []


def test_the_monitor_is_told_at_the_first_step_and_at_each_new_pass_only():
    """The live monitor judges only after a validation loss or a new data-loader pass: told at
    every step, it cost ~6 us of each (bench/step_overhead.py). The step and the last loss it
    shows are read from the recorder, current at every step."""
    from torch.utils.data import DataLoader, TensorDataset

    from lossdoctor.monitor import Monitor

    class CountedMonitor(Monitor):
        told = 0

        def __call__(self, recorder):
            self.told += 1
            super().__call__(recorder)

    model, optimizer, loss_fn, x, y = _small_training()
    loader = DataLoader(TensorDataset(x.repeat(5, 1), y.repeat(5)), batch_size=16)
    monitor = CountedMonitor()
    recorder = Recorder(listener=monitor)
    shown = []
    with watching(recorder):
        for _ in range(3):
            for inputs, targets in loader:
                _step(model, optimizer, loss_fn, inputs, targets)
                shown.append((monitor.step, monitor.train_loss))
    assert recorder.step == 15
    assert monitor.told == 3  # the first step, then the first step of each later pass
    assert shown[-1] == (15, recorder.last_train_loss)
    assert [step for step, _ in shown] == list(range(1, 16))
