"""Rewrite a generated dev script (bench/devset.py) whose loss is computed inside forward
(`model(xb, yb)` returning `(out, loss)`) into mmengine's idiom: `model(x, data_samples=y,
mode='loss')` returning a dict of losses that the loop adds up (`parse_losses`). In place:

    python bench/mmengine_form.py CASE/twin.py CASE/broken.py
"""

import re
import sys
from pathlib import Path

TENSOR = r"([\w\[\]\.]+)"
ADDED_UP = (r'sum(v.mean() for k, v in model(\2, data_samples=\3, mode="loss").items()'
            r' if "loss" in k)')
RULES = [
    (r"def forward\(self, x, target=None\):",
     'def forward(self, x, data_samples=None, mode="tensor"):'),
    (r"if target is None:", 'if mode != "loss":'),
    (r"^(\s*)return (\S+), (.*)target\)$", r'\1return {"loss_cls": \3data_samples)}'),
    (rf"_, (\w+) = model\({TENSOR}, {TENSOR}\)", r"\1 = " + ADDED_UP),
    (rf"model\({TENSOR}, {TENSOR}\)\[1\]", r'model(\1, data_samples=\2, mode="loss")["loss_cls"]'),
]


def rewritten(text: str) -> str:
    for pattern, replacement in RULES:
        text, count = re.subn(pattern, replacement, text, flags=re.M)
        if count == 0 and "forward" in pattern:
            raise SystemExit(f"no loss inside forward to rewrite ({pattern})")
    if "target=None" in text:
        raise SystemExit("the forward still takes its target as `target`")
    return text


if __name__ == "__main__":
    for name in sys.argv[1:]:
        path = Path(name)
        path.write_text(rewritten(path.read_text()))
