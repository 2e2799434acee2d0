import logging
import math

LOGGER = logging.getLogger("yolov5")
logging.basicConfig(level=logging.INFO, format="%(message)s")


def yaml_load(file):
    """The flat `key: value  # comment` YAML files of this project (PyYAML's safe_load subset)."""
    out = {}
    with open(file, errors="ignore") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            key, value = (s.strip() for s in line.split(":", 1))
            out[key] = _scalar(value)
    return out


def _scalar(value):
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def one_cycle(y1=0.0, y2=1.0, steps=100):
    # lambda function for sinusoidal ramp from y1 to y2 https://arxiv.org/pdf/1812.01187.pdf
    return lambda x: ((1 - math.cos(x * math.pi / steps)) / 2) * (y2 - y1) + y1


def colorstr(*input):
    return input[-1]
