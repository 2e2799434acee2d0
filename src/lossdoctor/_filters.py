"""The warning filters as ``import torch`` leaves them, noted before lossdoctor imports anything
else (scipy, scikit-learn and others add filters of their own). A script run by `lossdoctor run`
starts with these: what it would see under python after its own ``import torch``."""

import warnings

import torch  # noqa: F401 - imported here first, so the filters noted are torch's alone

AFTER_TORCH = list(warnings.filters)
