"""A model kept as two modules (``generate --two-modules``, issue 11): the layers before the
output layer and the output layer, an encoder and a head, each its own nn.Module, held by a
plain class that calls one on the other's output, as scripts that keep a feature extractor
apart from its head do. One optimizer trains both (``model.parameters()`` lists the two
parts'). lossdoctor sees two top-level modules, the head given the encoder's output.

A case is rewritten (twin and broken alike) when both are MLPs written as an nn.Sequential or
an nn.Module class on tabular or image data (a bag of token embeddings keeps its embedding in
the model's forward). Without the flag nothing here is used, so what ``generate`` writes for
every seed stays as it was."""

from __future__ import annotations

from .program import Program

#: The methods the loops and the operators call on ``model``, each over both parts.
PART_METHODS = [
    "    def parts(self):", "        return [{body}, {head}]", "",
    "    def parameters(self):",
    "        return [param for part in self.parts() for param in part.parameters()]", "",
    "    def named_parameters(self):",
    "        return [(name, param) for part in self.parts()",
    "                for name, param in part.named_parameters()]", "",
    "    def modules(self):",
    "        return [module for part in self.parts() for module in part.modules()]", "",
    "    def train(self, mode=True):", "        for part in self.parts():",
    "            part.train(mode)", "",
    "    def eval(self):", "        self.train(False)", "",
    "    def zero_grad(self):", "        for part in self.parts():", "            part.zero_grad()",
]


def can_split(*programs: Program) -> bool:
    return all(p.model.family == "mlp" and p.model.style in ("sequential", "module")
               and p.data.kind in ("tabular", "image") for p in programs)


def made_two_modules(p: Program) -> Program:
    return p.with_model(style="two_modules")


def part_methods(body: str, head: str) -> list[str]:
    return [line.format(body=f"self.{body}", head=f"self.{head}") for line in PART_METHODS]
