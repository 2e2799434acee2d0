"""How a replay computes the user's training loss for a model and a captured batch, in the way
the script computed it: a torch.nn loss called on the model's output (LossFunction), the loss the
model returned itself (ReturnedLoss), a recorded hand-written computation (loss_program.py), or
the script's own loss function called again, for targets it builds in Python
(loss_callable.CalledLoss).

Each one calls the model as the script did and answers ``loss(model, batch)`` and
``predict(model, batch)`` (the model's prediction, for the checks that look at it).
``any_model`` says whether another model (a larger one, a constant guess) that returns only a
prediction can be scored this way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import torch

from lossdoctor.capture.per_row import summed_terms
from lossdoctor.capture.sample import Batch, positions
from lossdoctor.capture.tensors import first_tensor

#: Keyword names under which a model is given its targets (Hugging Face: ``labels``).
TARGET_KEYWORDS = ("labels", "label", "targets", "target", "y")

#: Where a tensor sits in a model's output: steps such as (("index", 1),), (("key", "loss"),),
#: (("attr", "loss"),), or () for the output itself.
Place = tuple
#: Where a tensor sits among a model's inputs: (("arg", 1),), (("kwarg", "labels"),), or
#: (("arg", 0), ("key", "labels")) for a dict batch given whole.
Path = tuple


@dataclass
class LossFunction:
    """A torch.nn loss (module or functional, with its settings) on the model's output."""

    loss_fn: object
    prediction_shape: tuple  # the loss input's shape after the batch axis
    flat_target: bool = False  # the loss took the target flattened (``y.view(-1)``)
    #: Each row's target is its own position in the batch (see in_batch_targets): the
    #: prediction scores every row against the batch's rows, however many a replay gives
    #: (the Replayer makes the target anew: experiments.Replayer._placed_batch).
    in_batch: bool = False
    #: Which tensor of the model's output the loss scores (output_tensors' order): the first,
    #: or for one term of a loss that adds several up, that term's prediction (loss_events.py
    #: follow_one_term). A model that returns one tensor (a constant guess) gives it.
    output_index: int = 0
    any_model = True

    def loss(self, model, batch: Batch) -> torch.Tensor:
        target = batch.target.reshape(-1) if self.flat_target else batch.target
        return self.loss_fn(self.predict(model, batch), target)

    def called_with(self, batch: Batch) -> Batch:
        """The batch as the script gave it to the model (the target is the loss's here)."""
        return batch

    def summed_terms(self, batch: Batch) -> int:
        """The terms a ``reduction="sum"`` loss adds up on ``batch``, else 1."""
        target = batch.target.reshape(-1) if self.flat_target else batch.target
        return summed_terms(self.loss_fn, self.prediction_shape, target)

    def predict(self, model, batch: Batch) -> torch.Tensor:
        output = self._scored(model(*batch.args, **batch.kwargs))
        shape = self.prediction_shape
        if output is not None and not self.in_batch and tuple(output.shape[1:]) != shape:
            output = output.reshape(-1, *shape)
        return output


    def _scored(self, output) -> torch.Tensor | None:
        if not self.output_index or isinstance(output, torch.Tensor):
            return first_tensor(output)
        tensors = output_tensors(output)
        return tensors[self.output_index] if self.output_index < len(tensors) else None


def in_batch_targets(batches: list[Batch]) -> bool:
    """Every kept batch's target is its rows' own positions (0, 1, ..., rows - 1): an
    in-batch loss (CLIP's, a two-tower retrieval model's ``cross_entropy(u @ v.T,
    arange(B))``) scoring each row against the batch's rows, whose target a replay that
    changes the rows must make anew, not cut from the recorded one. The targets are then
    no labels of the inputs."""
    return bool(batches) and all(positions(b.target, b.rows) for b in batches)


@dataclass
class ReturnedLoss:
    """The loss the model's forward returns, taken where the training loss was found in its
    output; the model is given the batch's target where the script gave it."""

    loss_place: Place
    target_path: Path
    #: The training call's keyword settings (``return_loss=True``; replay_losses.settings_of): a
    #: model whose evaluation call passes others (mmcv's ``return_loss=False``, which returns
    #: scores instead of losses) is called as it trains, so that it returns its loss.
    training_settings: dict = field(default_factory=dict)
    #: For a loss the forward adds up from several torch.nn losses: where the output holds the
    #: prediction of the term the run's loss is taken to be (capture/loss_terms.py).
    prediction_place: Place | None = None
    any_model = False

    def loss(self, model, batch: Batch) -> torch.Tensor:
        return at_place(self._output(model, batch), self.loss_place)

    def predict(self, model, batch: Batch) -> torch.Tensor | None:
        output = self._output(model, batch)
        if self.prediction_place is not None:
            return at_place(output, self.prediction_place)
        loss = at_place(output, self.loss_place)
        return next((t for t in output_tensors(output) if t is not loss and t.dim() > 0), None)

    def called_with(self, batch: Batch) -> Batch:
        """The batch as the script gave it to the model in training: its target put back among
        the inputs, and the training call's settings in place of the batch's own."""
        kwargs = {key: value for key, value in batch.kwargs.items() if not _setting(value)}
        return with_target_at(replace(batch, kwargs={**kwargs, **self.training_settings}),
                              self.target_path)

    def _output(self, model, batch: Batch):
        batch = self.called_with(batch)
        return model(*batch.args, **batch.kwargs)


def output_tensors(output) -> list[torch.Tensor]:
    """The tensors of a model output: a tensor, a tuple, a dict, a dataclass (two levels deep)."""
    return [tensor for _, tensor in tensor_places(output)]


def tensor_places(value, depth: int = 2):
    """(place, tensor) for each tensor of a model output, a place being a tuple of steps
    ("index", 1), ("key", "logits") or ("attr", "loss") to follow from the output."""
    if isinstance(value, torch.Tensor):
        yield (), value
        return
    if depth == 0:
        return
    for step, inner in _children(value):
        for place, tensor in tensor_places(inner, depth - 1):
            yield (step, *place), tensor


def _children(value) -> list:
    if isinstance(value, Mapping):
        return [(("key", k), v) for k, v in value.items()]
    if isinstance(value, (tuple, list)):
        return [(("index", i), v) for i, v in enumerate(value)]
    if hasattr(value, "__dict__") and not callable(value):
        return [(("attr", k), v) for k, v in vars(value).items() if not k.startswith("_")]
    return []


def place_of(output, tensor: torch.Tensor) -> Place | None:
    """Where ``tensor`` is in a model output, or None."""
    return next((place for place, t in tensor_places(output) if t is tensor), None)


def at_place(value, place: Place):
    for kind, where in place:
        value = getattr(value, where) if kind == "attr" else value[where]
    return value


def target_place(args: tuple, kwargs: dict, seen_target: torch.Tensor | None) -> Path | None:
    """Where the model was given its targets: the input holding the data of the target a loss
    inside the forward was called with; else an input named like a target (a keyword, or a key
    of a dict batch); else the second positional tensor (nanoGPT's ``model(idx, targets)``)."""
    inputs = input_tensors(args, kwargs)
    followed = path_of_data(inputs, seen_target) if seen_target is not None else None
    if followed is not None:
        return followed
    named = [path for path, _ in inputs if path[-1][1] in TARGET_KEYWORDS]
    if named:
        return named[0]
    positional = [path for path, _ in inputs if len(path) == 1 and path[0][0] == "arg"]
    return positional[1] if len(positional) > 1 else None


def path_of_data(inputs: list[tuple[Path, torch.Tensor]], tensor: torch.Tensor) -> Path | None:
    """The path of the input (of ``input_tensors``) that holds ``tensor``'s data, or None."""
    return next((path for path, value in inputs if same_data(value, tensor)), None)


def input_tensors(args: tuple, kwargs: dict) -> list[tuple[Path, torch.Tensor]]:
    """(path, tensor) for each input tensor, and each tensor of a dict given as an input."""
    return list(_input_paths(args, kwargs))


def _input_paths(args: tuple, kwargs: dict):
    tops = [(("arg", i), v) for i, v in enumerate(args)]
    tops += [(("kwarg", k), v) for k, v in kwargs.items()]
    for top, value in tops:
        if isinstance(value, torch.Tensor):
            yield (top,), value
        elif isinstance(value, Mapping):
            for key, inner in value.items():
                if isinstance(inner, torch.Tensor):
                    yield (top, ("key", key)), inner


def same_data(a: torch.Tensor, b: torch.Tensor) -> bool:
    """The same tensor, or a view of the same memory with as many elements (``y.view(-1)``)."""
    if a is b:
        return True
    if a.numel() != b.numel() or a.device != b.device or a.layout != torch.strided:
        return False
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def input_at(args: tuple, kwargs: dict, path: Path):
    (kind, where), *inner = path
    value = args[where] if kind == "arg" else kwargs[where]
    return value[inner[0][1]] if inner else value


def has_input(args: tuple, kwargs: dict, path: Path) -> bool:
    """Whether this call of the model was given a tensor at ``path``."""
    try:
        return isinstance(input_at(args, kwargs, path), torch.Tensor)
    except (IndexError, KeyError, TypeError):
        return False


def target_taken_out(batch: Batch, path: Path) -> Batch:
    """The batch with the model's input at ``path`` as its target, and no longer among the
    inputs (a check reading the inputs as features must not find the labels there); a
    replay puts it back (with_target_at). A positional target leaves None in its place."""
    (kind, where), *inner = path
    target = input_at(batch.args, batch.kwargs, path)
    value = None
    if inner:
        outer = batch.args[where] if kind == "arg" else batch.kwargs[where]
        value = {k: v for k, v in outer.items() if k != inner[0][1]}
    if kind == "arg":
        args = (*batch.args[:where], value, *batch.args[where + 1:])
        return replace(batch, args=args, target=target)
    kwargs = {k: v for k, v in batch.kwargs.items() if k != where}
    if inner:
        kwargs[where] = value
    return replace(batch, kwargs=kwargs, target=target)


def with_target_at(batch: Batch, path: Path) -> Batch:
    """The batch with its target put back among the model's inputs, where the script put it."""
    (kind, where), *inner = path
    value = batch.target
    if inner:
        outer = batch.args[where] if kind == "arg" else batch.kwargs[where]
        value = {**outer, inner[0][1]: value}
    if kind == "arg":
        return replace(batch, args=(*batch.args[:where], value, *batch.args[where + 1:]))
    return replace(batch, kwargs={**batch.kwargs, where: value})


def settings_of(kwargs: dict) -> dict:
    """The keyword arguments of a model call that are settings (``return_loss=False``), not
    data: single numbers, flags, words or None. A list of sentences is a batch's data."""
    return {key: value for key, value in kwargs.items() if _setting(value)}


def _setting(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))
