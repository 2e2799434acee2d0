checkpoint_config = dict(interval=100)
log_config = dict(interval=20)
workflow = [('train', 1)]
seed = 0
