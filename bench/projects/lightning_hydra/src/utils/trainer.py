"""A minimal Lightning-like Trainer: sanity validation steps, then epochs of training steps with
validation at the end of each, the module's own `configure_optimizers` and hooks."""

import torch


class Trainer:
    def __init__(self, max_epochs=10, min_epochs=1, num_sanity_val_steps=2,
                 check_val_every_n_epoch=1, deterministic=False):
        self.max_epochs = max_epochs
        self.num_sanity_val_steps = num_sanity_val_steps
        self.check_val_every_n_epoch = check_val_every_n_epoch
        self.current_epoch = 0
        self.callback_metrics = {}

    def fit(self, model, datamodule):
        datamodule.prepare_data()
        datamodule.setup("fit")
        model.trainer = self
        optim_conf = model.configure_optimizers()
        optimizer = optim_conf["optimizer"]
        scheduler = optim_conf.get("lr_scheduler", {})
        train_loader = datamodule.train_dataloader()
        val_loader = datamodule.val_dataloader()

        self._validate(model, val_loader, limit=self.num_sanity_val_steps, sanity=True)
        model.on_train_start()
        for epoch in range(self.max_epochs):
            self.current_epoch = epoch
            model.train()
            for batch_idx, batch in enumerate(train_loader):
                loss = model.training_step(batch, batch_idx)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            model.on_train_epoch_end()
            if (epoch + 1) % self.check_val_every_n_epoch == 0:
                self._validate(model, val_loader)
            if scheduler:
                monitored = self.callback_metrics.get(scheduler["monitor"])
                scheduler["scheduler"].step(monitored)
            print(f"Epoch {epoch}: " + " ".join(f"{k}={float(v):.4f}"
                                                for k, v in self.callback_metrics.items()))

    @torch.no_grad()
    def _validate(self, model, loader, limit=None, sanity=False):
        model.eval()
        for batch_idx, batch in enumerate(loader):
            if limit is not None and batch_idx >= limit:
                break
            model.validation_step(batch, batch_idx)
        if sanity:
            model.val_loss.reset()
            model.val_acc.reset()
        else:
            model.on_validation_epoch_end()
        model.train()
