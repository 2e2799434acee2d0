dataset_type = 'ShapesDataset'
img_norm_cfg = dict(mean=[0.3, 0.3, 0.3], std=[0.35, 0.35, 0.35])
train_pipeline = [dict(type='RandomFlip', flip_prob=0.5), dict(type='Normalize', **img_norm_cfg)]
test_pipeline = [dict(type='Normalize', **img_norm_cfg)]
data = dict(
    samples_per_gpu=32,
    workers_per_gpu=0,
    train=dict(type=dataset_type, split='train', pipeline=train_pipeline),
    val=dict(type=dataset_type, split='val', pipeline=test_pipeline))
evaluation = dict(interval=1, metric='accuracy')
