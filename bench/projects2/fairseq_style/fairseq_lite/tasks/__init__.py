from fairseq_lite.registry import setup_registry

build_task, register_task, TASK_REGISTRY = setup_registry("task")


def setup_task(args):
    return TASK_REGISTRY[args.task].setup_task(args)


from . import translation  # noqa: E402,F401
