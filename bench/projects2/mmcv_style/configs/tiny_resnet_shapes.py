_base_ = [
    '_base_/models/tiny_resnet.py', '_base_/datasets/shapes.py',
    '_base_/schedules/sgd_8e.py', '_base_/default_runtime.py'
]
