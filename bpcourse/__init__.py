"""bpcourse: backpropagation from scratch in numpy, for the course's notebooks.

    import bpcourse as bp
"""
from .core import Layer, Parameter
from .layers import (BatchNorm1d, Dropout, Flatten, LeakyReLU, Linear, ReLU, Residual,
                     Sequential, Sigmoid, Tanh)
from .layers import LayerNorm
from .recurrent import RNN
from .losses import BCEWithLogits, L1, L2, MSELoss, SoftmaxCrossEntropy, log_softmax, softmax
from .gradcheck import check_layer, check_model, numerical_gradient, rel_error
from .optim import (SGD, Adagrad, Adam, AdamW, CosineAnnealingLR, RMSprop, StepLR,
                    clip_grad_norm, clip_grad_value)
from .scalar import Value, draw_graph
from .train import Callback, EarlyStopping, History, LivePlot, evaluate, fit, predict
from .checkpoint import load, save
from .claims import claim
from .models import mlp
from .doctor import doctor
from .progress_log import report as progress
from . import challenges, data, diagnostics, exercises, init, jacobians, plots, progress_log, widgets

__version__ = "0.1.0"
