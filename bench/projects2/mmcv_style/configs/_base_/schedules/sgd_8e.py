optimizer = dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=0.0001)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=[5, 7], gamma=0.1, by_epoch=True)
runner = dict(type='EpochBasedRunner', max_epochs=8)
