"""timm's Scheduler: step(epoch) at each epoch's end, step_update(num_updates) after each update;
a subclass answers _get_lr(t) for t in epochs (t_in_epochs) or in updates."""


class Scheduler:
    def __init__(self, optimizer, param_group_field="lr", t_in_epochs=True):
        self.optimizer = optimizer
        self.param_group_field = param_group_field
        self.t_in_epochs = t_in_epochs
        for group in self.optimizer.param_groups:
            group.setdefault(f"initial_{param_group_field}", group[param_group_field])
        self.base_values = [g[f"initial_{param_group_field}"] for g in optimizer.param_groups]

    def _get_lr(self, t):
        raise NotImplementedError

    def step(self, epoch, metric=None):
        if self.t_in_epochs:
            self.update_groups(self._get_lr(epoch))

    def step_update(self, num_updates, metric=None):
        if not self.t_in_epochs:
            self.update_groups(self._get_lr(num_updates))

    def update_groups(self, values):
        for group, value in zip(self.optimizer.param_groups, values):
            group[self.param_group_field] = value
