from .vgg import *
from .lenet import *
