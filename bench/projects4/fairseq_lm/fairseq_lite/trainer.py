"""A Trainer in the manner of fairseq.trainer.Trainer: train_step zeroes the gradients, runs
the task's train_step on each sample, divides the summed gradients by the sample size, clips
and steps, then steps the schedule per update; valid_step aggregates logging outputs."""


class Trainer:
    def __init__(self, args, task, model, criterion, optimizer, lr_scheduler):
        self.args, self.task = args, task
        self.model, self.criterion = model, criterion
        self.optimizer, self.lr_scheduler = optimizer, lr_scheduler
        self._num_updates = 0

    def get_num_updates(self):
        return self._num_updates

    def train_step(self, samples):
        self.optimizer.zero_grad()
        logging_outputs, sample_size = [], 0
        for sample in samples:
            loss, sample_size_i, logging_output = self.task.train_step(
                sample, self.model, self.criterion, self.optimizer)
            logging_outputs.append(logging_output)
            sample_size += sample_size_i
        self.optimizer.multiply_grads(1.0 / float(sample_size))
        grad_norm = self.optimizer.clip_grad_norm(self.args.clip_norm)
        self.optimizer.step()
        self._num_updates += 1
        self.lr_scheduler.step_update(self._num_updates)
        return self.criterion.reduce_metrics(logging_outputs), float(grad_norm)

    def valid_step(self, sample):
        _, _, logging_output = self.task.valid_step(sample, self.model, self.criterion)
        return logging_output
