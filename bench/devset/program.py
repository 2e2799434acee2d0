"""A training program as parts: what the data, model, loss and training loop are.

A base program is drawn from a seed; fault operators change its parts (a learning rate, a
missing `zero_grad`, a line added after the data is loaded); `render.py` turns the parts into
one standalone script. Every part is a frozen dataclass, so an operator returns a changed copy.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Data:
    kind: str  # tabular | image | sequence | token
    task: str  # binary | multiclass | regression
    classes: int  # classes of a classification task (2 for binary)
    story: int  # which of the kind's generators
    n_train: int
    n_val: int  # 0: the script keeps no validation set
    features: int  # tabular columns, sequence channels, image side, token vocabulary
    length: int  # sequence and token length
    noise: float
    input_units: str = "unit"  # unit | raw: features in their own large units
    input_norm: str = "standardize"  # standardize | none | train_only
    target_units: tuple[float, float] = (0.0, 1.0)  # offset and scale of raw regression targets
    target_norm: str = "standardize"  # standardize | none
    shuffle: bool = True
    positive_share: float | None = None  # binary tabular: label the top share of scores
    #: Multi-label: the targets are CLASSES columns of 0/1 labels (made by the operators'
    #: edits), one BCE output per label; False: one label per row.
    multi_label: bool = False
    edits: tuple[str, ...] = ()  # lines run after the data is split and normalized

    @property
    def has_val(self) -> bool:
        return self.n_val > 0

    @property
    def float_inputs(self) -> bool:
        return self.kind != "token"


@dataclass(frozen=True)
class Model:
    family: str  # mlp | cnn | rnn | transformer
    style: str  # sequential | module | module_list | raw | two_modules (two_modules.py)
    width: int
    depth: int
    activation: str = "relu"  # relu | gelu | tanh | sigmoid | leaky_relu
    dropout: float = 0.0
    dropout_always: bool = False  # module_list style: F.dropout(x, DROPOUT) without training=
    #: module style (MLP, CNN): the dropout is one call in the forward, before the output
    #: layer, in place of nn.Dropout layers: "flag" F.dropout(h, DROPOUT,
    #: training=self.training), "always" F.dropout(h, DROPOUT) (faults_dropout_calls.py)
    dropout_call: str = ""
    batchnorm: bool = False
    cell: str = "gru"  # gru | lstm | rnn_tanh | rnn_relu (rnn family)
    #: "" | softmax | sigmoid | relu: an activation after the output layer (relu is an nn.ReLU
    #: in an nn.Sequential, torch.relu in a forward); relu_f (F.relu) and clamp
    #: (``.clamp(min=0)``) are the same clamp written otherwise in a forward
    head: str = ""
    init: tuple = ()  # () | (normal | uniform | negative_uniform | constant, size)
    head_scale: float = 1.0  # the output layer's weights multiplied after init
    bias_init: float | None = None  # hidden biases set to this value
    recurrent_identity: bool = False
    trainable: str = "all"  # all | head_only | freeze_body
    time_major: bool = False  # rnn/transformer given (time, batch, ...) batches: time_major.py


@dataclass(frozen=True)
class Loss:
    kind: str  # ce | bce | mse | l1 | huber | nll_raw
    style: str  # module | functional | hand | in_forward
    output_shape: str = "column"  # regression and bce outputs: column (N, 1) | flat (N,)
    target_shape: str = "column"
    l2: float = 0.0  # a hand-written weight penalty added to the loss
    #: A transform written in the loop between the model's output and the loss call:
    #: "" | log_softmax | softmax | temperature (logits divided by 2)
    outside: str = ""


@dataclass(frozen=True)
class Training:
    optimizer: str  # adam | adamw | sgd | rmsprop
    lr: float
    epochs: int
    batch_size: int
    batching: str  # loader | dict | slice
    momentum: float = 0.0
    weight_decay: float = 0.0
    #: none | step | cosine | onecycle | exp_epoch | exp_batch | warmup | warmup_uncapped |
    #: linear_epoch | linear_batch | step_up | steplr_epoch | steplr_batch | onecycle_rows
    #: (a one-cycle sized from the training rows instead of the batches: faults_sched.py)
    schedule: str = "none"
    warmup_steps: int = 0  # the warmup schedules' length, in batches
    step_size: int = 0  # the steplr schedules' StepLR(step_size, gamma)
    gamma: float = 0.0
    zero_grad: str = "step"  # step | none | epoch
    modes: str = "proper"  # proper | never | swapped
    clip: float | None = None
    same_batch: bool = False  # every step trains on the first batch
    #: Gaussian noise added to each training batch's inputs, in units of the batch's own
    #: spread (an augmentation; 0: none). Validation inputs are left as they are.
    augment: float = 0.0
    print_style: int = 0
    update: str = "optimizer"  # optimizer | manual: plain SGD written by hand (manual.py)
    #: Epochs the optimizer steps in, the later ones computing gradients without a step (an
    #: epoch condition around optimizer.step()); 0: every epoch.
    step_epochs: int = 0
    #: The training labels shuffled on their own at each epoch's start, apart from their
    #: inputs (faults_sched.py): every epoch pairs each input with another row's label.
    repair_labels: bool = False


@dataclass(frozen=True)
class Program:
    seed: int
    data: Data
    model: Model
    loss: Loss
    train: Training
    naming: int = 0  # which variable names the script uses

    def with_data(self, **changes) -> Program:
        return replace(self, data=replace(self.data, **changes))

    def with_model(self, **changes) -> Program:
        return replace(self, model=replace(self.model, **changes))

    def with_loss(self, **changes) -> Program:
        return replace(self, loss=replace(self.loss, **changes))

    def with_train(self, **changes) -> Program:
        return replace(self, train=replace(self.train, **changes))

    def add_edits(self, *lines: str) -> Program:
        return self.with_data(edits=self.data.edits + lines)

    @property
    def base(self) -> str:
        """The program's shape in a few words, e.g. `tabular-binary/mlp-module/loader`."""
        return (f"{self.data.kind}-{self.data.task}/{self.model.family}-{self.model.style}/"
                f"{self.train.batching}/{self.loss.kind}-{self.loss.style}"
                f"{'' if self.data.has_val else '/no-val'}")

    @property
    def output_units(self) -> int:
        if self.data.multi_label:
            return self.data.classes
        if self.data.task == "regression" or self.loss.kind == "bce":
            return 1
        return self.data.classes
