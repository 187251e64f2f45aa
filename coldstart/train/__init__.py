"""Training on a labeled selection: tasks (probe, classification, segmentation), presets,
the simulated annotator and the active-learning step.

Heavy libraries (torch, segmentation-models-pytorch) are imported only inside
the task functions that need them.
"""

from .presets import PRESETS, TASKS, resolve_params
from .base import TaskInput, TaskOutput, check_trainable
from .tasks import run_task, train_selection

__all__ = ["PRESETS", "TASKS", "resolve_params", "TaskInput", "TaskOutput", "check_trainable", "run_task", "train_selection"]
