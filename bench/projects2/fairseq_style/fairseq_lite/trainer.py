"""fairseq's Trainer: train_step runs the task's train_step, divides the gradients by the
sample size (the criterion sums), clips them, steps the optimizer and the lr scheduler."""

from fairseq_lite.optim import FairseqAdam, InverseSquareRootSchedule


class Trainer:
    def __init__(self, args, task, model, criterion):
        self.args, self.task = args, task
        self.model, self.criterion = model, criterion
        self._optimizer = FairseqAdam(args, [p for p in model.parameters() if p.requires_grad])
        self.lr_scheduler = InverseSquareRootSchedule(args, self._optimizer)
        self._num_updates = 0

    def get_num_updates(self):
        return self._num_updates

    def train_step(self, sample):
        self._optimizer.zero_grad()
        loss, sample_size, logging_output = self.task.train_step(
            sample, self.model, self.criterion, self._optimizer, self._num_updates)
        self._optimizer.multiply_grads(1.0 / float(sample_size))
        grad_norm = self._optimizer.clip_grad_norm(self.args.clip_norm)
        self._optimizer.step()
        self._num_updates += 1
        self.lr_scheduler.step_update(self._num_updates)
        logging_output["gnorm"] = float(grad_norm)
        return logging_output

    def valid_step(self, sample):
        _, _, logging_output = self.task.valid_step(sample, self.model, self.criterion)
        return logging_output

    def get_lr(self):
        return self._optimizer.get_lr()
