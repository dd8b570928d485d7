"""``keras.distribution`` for neuronka: data-parallel training over MPI processes (docs/distributed.md).

Launch ``mpiexec -n P python train.py`` (or ``srun -n P``); in the script::

    keras.distribution.set_distribution(keras.distribution.DataParallel())

and every optimizer update averages the gradients over the P processes. Each process trains on its
own shard of the data (:func:`shard_indices`; ``fit`` shards arrays itself); ``evaluate``/``predict`` combine
the processes' shards (``evaluation.py``); ``BatchNormalization(synchronized=True)`` uses the global batch's
statistics; only process 0 prints and writes. Without MPI everything here is a one-device no-op.

Keras's names: list_devices, get_device_count, initialize, DeviceMesh, TensorLayout, DataParallel,
distribution, set_distribution. neuronka's additions: num_processes, process_id, shard_indices,
broadcast_weights, BroadcastWeights (a callback), GradientAverager.
"""
from .data_parallel import BroadcastWeights, GradientAverager, broadcast_weights, shard_indices
from .distribution_lib import (
    DataParallel,
    DeviceMesh,
    Distribution,
    TensorLayout,
    distribution,
    get_device_count,
    initialize,
    list_devices,
    set_distribution,
)
from .mpi import num_processes, process_id
