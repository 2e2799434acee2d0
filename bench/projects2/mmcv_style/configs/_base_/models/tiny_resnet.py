model = dict(
    type='ImageClassifier',
    backbone=dict(type='TinyResNet', depth=3, base_channels=16, frozen_stages=-1,
                  norm_eval=False),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=4, in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0, reduction='mean')))
