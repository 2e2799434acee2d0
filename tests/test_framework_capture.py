"""What frameworks do around a training loop, reproduced in plain torch (no framework needed):
shape inference on meta tensors (Keras builds its models so), losses taken per element and
reduced by the caller, and an optimizer that updates outside torch.optim (Keras's)."""

import copy

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from conftest import fit, mlp, record
from lossdoctor.capture.framework_optimizers import torch_equivalent
from lossdoctor.experiments import Plan, Replayer


def _data(rows=300, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 4, generator=generator)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return (x[:200], y[:200]), (x[200:], y[200:])


def _built_then_trained(model, loss_fn):
    """Shape inference on a meta copy of the model, as Keras does before it trains."""
    shapes = copy.deepcopy(model).to("meta")
    out = shapes(torch.zeros(8, 4, device="meta"))
    F.cross_entropy(out, torch.zeros(8, dtype=torch.long, device="meta"))
    train, validation = _data()
    fit(model, torch.optim.Adam(model.parameters(), lr=0.01), loss_fn, train, validation,
        epochs=3)


def test_calls_on_meta_tensors_are_shape_inference_not_training():
    torch.manual_seed(0)
    model = mlp(4, 8, 2)
    case = record(_built_then_trained, model, F.cross_entropy)
    assert not [n for n in case.trace.notes if "internal error" in n]
    assert case.trace.steps == 21
    assert case.trace.setup.parameter_count == sum(p.numel() for p in model.parameters())
    assert case.copies.train.batches


class _TwoInputs(torch.nn.Module):
    """A model given its two inputs as one tuple, as Keras calls a model of several inputs."""

    def __init__(self):
        super().__init__()
        self.left, self.right = torch.nn.Linear(2, 8), torch.nn.Linear(2, 8)
        self.head = torch.nn.Linear(16, 2)

    def forward(self, inputs):
        left, right = inputs
        return self.head(torch.cat([self.left(left), self.right(right)], dim=1))


def _two_inputs_built_then_trained(model):
    """Shape inference on a tuple of meta inputs, then a plain loop over split features."""
    meta = copy.deepcopy(model).to("meta")
    meta((torch.zeros(8, 2, device="meta"), torch.zeros(8, 2, device="meta")))
    (x, y), (xv, yv) = _data()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        for start in range(0, 200, 32):
            optimizer.zero_grad()
            rows = slice(start, start + 32)
            F.cross_entropy(model((x[rows, :2], x[rows, 2:])), y[rows]).backward()
            optimizer.step()
        with torch.no_grad():
            F.cross_entropy(model((xv[:, :2], xv[:, 2:])), yv)


def test_calls_on_a_tuple_of_meta_inputs_are_shape_inference_not_training():
    torch.manual_seed(0)
    case = record(_two_inputs_built_then_trained, _TwoInputs())
    assert not [n for n in case.trace.notes if "internal error" in n]
    assert case.trace.steps == 21 and len(case.trace.validation_passes()) == 3


def _per_element(prediction, target):
    return F.cross_entropy(prediction, target, reduction="none").mean()


def test_a_loss_taken_per_element_and_reduced_by_the_script_is_replayed_on_its_mean():
    torch.manual_seed(0)
    model = mlp(4, 8, 2)
    train, validation = _data()
    case = record(fit, model, torch.optim.Adam(model.parameters(), lr=0.01), _per_element,
                  train, validation, epochs=3)
    replayer = Replayer(case.copies)
    assert replayer.ready
    result = replayer.replay(Plan(steps=20, evaluations=2))
    assert len(result.train_losses) == 20 and all(v == v for v in result.train_losses)
    assert result.final_validation < 0.8


def _keras_like(class_name: str, **settings):
    """An object shaped like a Keras optimizer (its class lives in a keras module)."""
    cls = type(class_name, (), {"__module__": "keras.src.optimizers.fake"})
    optimizer = cls()
    optimizer.__dict__.update(settings)
    return optimizer


class _Model(torch.nn.Module):
    def __init__(self, optimizer):
        super().__init__()
        self.optimizer = optimizer


def test_a_keras_optimizer_is_replayed_with_the_torch_optimizer_that_updates_alike():
    adam = _keras_like("Adam", learning_rate=torch.tensor(0.01), beta_1=0.8, beta_2=0.99,
                       epsilon=1e-7, amsgrad=False, weight_decay=None)
    assert torch_equivalent(_Model(adam)) == (
        torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-7, "amsgrad": False})
    decayed = _keras_like("Adam", learning_rate=0.001, weight_decay=0.01)
    assert torch_equivalent(_Model(decayed))[0] is torch.optim.AdamW
    sgd = _keras_like("SGD", learning_rate=0.1, momentum=0.9, nesterov=True)
    assert torch_equivalent(_Model(sgd)) == (
        torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True})


def test_no_equivalent_for_an_unknown_optimizer_or_a_plain_model():
    assert torch_equivalent(_Model(_keras_like("Lion", learning_rate=0.1))) is None
    assert torch_equivalent(mlp(2, 2, 2)) is None
    assert torch_equivalent(None) is None


def _new_loaders_every_epoch(model, epochs=4):
    """As Keras's fit does: a new DataLoader (over a new dataset object) for each epoch, and
    one more started at the end of each epoch and left unused."""
    (x, y), (xv, yv) = _data()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loaders = []  # all alive at once, so that no two share an id
    for _ in range(epochs):
        train = DataLoader(TensorDataset(x.clone(), y.clone()), batch_size=20, shuffle=True)
        validation = DataLoader(TensorDataset(xv.clone(), yv.clone()), batch_size=50)
        loaders += [train, validation]
        for xb, yb in train:
            optimizer.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()
        iter(DataLoader(TensorDataset(x.clone(), y.clone()), batch_size=20, shuffle=True))
        with torch.no_grad():
            for xb, yb in validation:
                F.cross_entropy(model(xb), yb)


def test_a_new_loader_over_the_same_split_each_epoch_starts_an_epoch():
    torch.manual_seed(0)
    case = record(_new_loaders_every_epoch, mlp(4, 8, 2))
    assert case.trace.epoch_starts == [0, 10, 20, 30]
