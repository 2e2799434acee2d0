"""Lightning's documented BaseFinetuning recipe: the backbone frozen before training and put
back into the optimizer, as a new parameter group, at `unfreeze_at_epoch`."""

from lightning.pytorch.callbacks import BaseFinetuning


class FeatureExtractorFreezeUnfreeze(BaseFinetuning):
    def __init__(self, unfreeze_at_epoch=1):
        super().__init__()
        self._unfreeze_at_epoch = unfreeze_at_epoch

    def freeze_before_training(self, pl_module):
        self.freeze(pl_module.features)

    def finetune_function(self, pl_module, current_epoch, optimizer):
        if current_epoch == self._unfreeze_at_epoch:
            self.unfreeze_and_add_param_group(modules=pl_module.features, optimizer=optimizer,
                                              train_bn=True)
