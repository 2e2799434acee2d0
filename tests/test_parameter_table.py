"""A recorded program's parameters read on a model copy whose parameters have other names and
another order: a deep copy of a Keras 3 model on the torch backend names its variables without
the model's scope (``sequential/conv1d/kernel`` becomes ``conv1d/kernel``) and lists a dropout's
seed state last instead of first (bench/fresh29 s06). On f88cc73 parameters were read by name
only (KeyError in every replay)."""

from __future__ import annotations

import pytest
import torch

from lossdoctor.capture.loss_tape import Parameter, ParameterTable, Tape


def _tape(named: dict[str, torch.Tensor]) -> Tape:
    return Tape(None, {id(p): (name, p) for name, p in named.items()})


def test_parameters_renamed_and_reordered_are_read_by_shape_and_place_among_that_shape():
    seed, kernel, first, second = (torch.zeros(2), torch.ones(3, 4), torch.ones(4, 4),
                                   torch.ones(4, 4) * 2)
    tape = _tape({"seed_generator/state": seed, "sequential/conv1d/kernel": kernel,
                  "sequential/dense/kernel": first, "sequential/dense_1/kernel": second})
    copies = {name: t.clone() + 10 for name, t in [("conv1d/kernel", kernel),
                                                    ("dense/kernel", first),
                                                    ("dense_1/kernel", second),
                                                    ("seed_generator_1/state", seed)]}
    table = ParameterTable(copies)
    for original, copied in [(kernel, "conv1d/kernel"), (first, "dense/kernel"),
                             (second, "dense_1/kernel"), (seed, "seed_generator_1/state")]:
        assert table.read(tape.ref(original)) is copies[copied]


def test_a_parameter_is_read_by_its_name_first():
    weight, other = torch.ones(3), torch.zeros(3)
    tape = _tape({"a": weight, "b": other})
    table = ParameterTable({"b": other, "a": weight})
    assert table.read(tape.ref(weight)) is weight
    assert table.read(tape.ref(other)) is other


def test_a_parameter_of_a_shape_the_copy_lacks_is_missing():
    with pytest.raises(KeyError):
        ParameterTable({"w": torch.ones(5)}).read(Parameter("v", (3,), 0))


def test_the_tape_keeps_a_parameter_a_call_handed_back_as_it_is():
    weight = torch.ones(3, requires_grad=True)
    tape = _tape({"w": weight})
    moved = torch.Tensor.to(weight, "cpu")
    assert moved is weight
    tape.record(torch.Tensor.to, (weight, "cpu"), {}, moved)
    assert tape.parameters == {"w": weight}
