"""lossdoctor as a Keras 3 callback, on the torch backend (``KERAS_BACKEND=torch``)::

    from lossdoctor.integrations.keras import LossDoctorCallback

    model.fit(x, y, validation_data=(x_val, y_val), epochs=20,
              callbacks=[LossDoctorCallback(log_dir="logs")])

It watches from ``on_train_begin``, reads ``val_loss`` at each epoch's end, warns of a plateau
there (and, with ``stop_on_plateau``, sets ``model.stop_training``), and at ``on_train_end``
prints the diagnosis and writes it to ``log_dir`` (lossdoctor.html, .json, .md), if given. A
``fit`` that raises leaves lossdoctor's hooks on until the callback's next ``fit``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

try:
    import keras
except ImportError as error:  # pragma: no cover - depends on what is installed
    raise ImportError("lossdoctor's Keras callback needs keras 3: "
                      "pip install 'lossdoctor[keras]'") from error

from lossdoctor.integrations._fit import FitWatch
from lossdoctor.session import Report


class LossDoctorCallback(keras.callbacks.Callback):
    """Diagnose the fit it is given to. ``log_dir``: where the report files go (None: none);
    ``stop_on_plateau`` ends the fit when the validation loss stops improving; ``announce`` is
    called with the plateau warning (default: a line on stderr); ``render`` prints the report at
    the end, ``verbose`` with its evidence; ``budget`` caps the seconds the checks take (0: no
    experiment on copies). The report stays as ``.report``."""

    def __init__(self, log_dir: str | Path | None = None, stop_on_plateau: bool = False,
                 announce: Callable[[str], None] | None = None, render: bool = True,
                 verbose: bool = False, budget: float | None = None) -> None:
        super().__init__()
        self.log_dir = log_dir
        self._fit = FitWatch("Keras model.fit", stop_on_plateau, announce, render, verbose,
                             budget)

    @property
    def report(self) -> Report | None:
        """The last fit's report, once it ended."""
        return self._fit.report

    def on_train_begin(self, logs=None) -> None:
        if keras.backend.backend() != "torch":
            warnings.warn("lossdoctor watches PyTorch: set KERAS_BACKEND=torch before importing "
                          f"keras (the backend is {keras.backend.backend()}).", RuntimeWarning,
                          stacklevel=2)
            return
        self._fit.start(self._stop)

    def on_epoch_end(self, epoch, logs=None) -> None:
        self._fit.validation_ended(logs or {})

    def on_train_end(self, logs=None) -> None:
        self._fit.finish(self.log_dir)

    def _stop(self) -> None:
        self.model.stop_training = True
