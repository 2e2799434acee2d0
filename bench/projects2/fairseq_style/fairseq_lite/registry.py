"""fairseq's registries: @register_x("name") on a class, build_x(args) picks it by args.<x>."""


def setup_registry(registry_name):
    registry = {}

    def register(name):
        def wrapper(cls):
            if name in registry:
                raise ValueError(f"Cannot register duplicate {registry_name} ({name})")
            registry[name] = cls
            return cls
        return wrapper

    def build(args, *extra):
        choice = getattr(args, registry_name)
        return registry[choice].build(args, *extra)

    return build, register, registry
