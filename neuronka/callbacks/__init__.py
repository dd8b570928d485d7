"""``keras.callbacks``: code that ``fit`` / ``evaluate`` / ``predict`` run at fixed points of their loops.

- :mod:`.base`: ``Callback`` (the hooks) and ``CallbackList`` (many called as one; the order of the hooks);
- :mod:`.history`: ``History`` and ``ProgbarLogger``, which ``fit`` adds itself;
- :mod:`.monitors`: ``EarlyStopping``, ``ReduceLROnPlateau`` (and their base ``MonitorCallback``);
- :mod:`.checkpoints`: ``ModelCheckpoint``, ``BackupAndRestore``;
- :mod:`.loggers`: ``CSVLogger``, ``RemoteMonitor``; :mod:`.tensorboard`: ``TensorBoard``;
- :mod:`.misc`: ``LearningRateScheduler``, ``TerminateOnNaN``, ``LambdaCallback``, ``SwapEMAWeights``.

Keras's ``OrbaxCheckpoint`` (saving through JAX's Orbax) is not provided.
"""
from .base import Callback, CallbackList
from .checkpoints import BackupAndRestore, ModelCheckpoint
from .history import History, ProgbarLogger
from .loggers import CSVLogger, RemoteMonitor
from .misc import LambdaCallback, LearningRateScheduler, SwapEMAWeights, TerminateOnNaN
from .monitors import EarlyStopping, MonitorCallback, ReduceLROnPlateau
from .tensorboard import TensorBoard

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "MonitorCallback",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "RemoteMonitor",
    "SwapEMAWeights",
    "TensorBoard",
    "TerminateOnNaN",
]
