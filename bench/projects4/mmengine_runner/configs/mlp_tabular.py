# A config in the manner of an OpenMMLab config file (model / data / schedule / runtime).
model = dict(
    type="TabularClassifier",
    backbone=dict(in_channels=24, hidden_channels=64, num_layers=2),
    head=dict(num_classes=6, in_channels=64, loss=dict(type="CrossEntropyLoss",
                                                           loss_weight=1.0)),
)
train_dataloader = dict(batch_size=32, shuffle=True,
                        dataset=dict(type="SyntheticTabular", split="train", num_samples=4000))
val_dataloader = dict(batch_size=128, shuffle=False,
                      dataset=dict(type="SyntheticTabular", split="val", num_samples=600))
optim_wrapper = dict(
    optimizer=dict(type="SGD", lr=0.05, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={}),
)
param_scheduler = [dict(type="MultiStepLR", by_epoch=True, milestones=[5, 7], gamma=0.1)]
train_cfg = dict(by_epoch=True, max_epochs=8, val_interval=1)
default_hooks = dict(logger=dict(type="LoggerHook", interval=25),
                     checkpoint=dict(type="CheckpointHook", interval=1, save_best="val/loss",
                                     rule="less"))
custom_hooks = [dict(type="TrainSplitEvalHook")]
randomness = dict(seed=0)
