"""Runs that already ended, read from their logs: a TensorBoard log folder, a CSV of metrics
(Lightning's ``metrics.csv``, Keras' ``CSVLogger``, any CSV with a step or epoch column) or
Hugging Face's ``trainer_state.json``. Curves alone tell some things (flat, at chance,
swinging, diverging, overfitting, a collapsed learning-rate schedule) and not others (why):
:mod:`.diagnose` says which is which, and which `lossdoctor run` would settle the rest."""
