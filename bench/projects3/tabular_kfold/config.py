"""CFG, as Kaggle notebooks keep it: one class of settings, overridable from the command line
(`--set name=value`)."""


class CFG:
    seed = 42
    n_folds = 5
    train_folds = [0, 1]        # folds trained in this run (the rest in other sessions)
    epochs = 30
    batch_size = 64
    lr = 1e-3
    weight_decay = 1e-5
    hidden_size = 128
    dropout = 0.1
    scale_features = True
    scale_target = True
    scheduler_mode = "min"
    scheduler_patience = 3
    scheduler_factor = 0.5
    early_stopping_patience = 8


def apply_overrides(pairs):
    for pair in pairs or []:
        name, value = pair.split("=")
        old = getattr(CFG, name)
        if isinstance(old, bool):
            value = value.lower() in ("1", "true", "yes")
        else:
            value = type(old)(value)
        setattr(CFG, name, value)
