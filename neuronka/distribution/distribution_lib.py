"""Keras 3's ``keras.distribution`` on MPI processes: every process is one device ("cpu:<rank>"), a
:class:`DataParallel` distribution spans all of them, and setting it makes every optimizer average its
gradients across the processes (neuronka.distribution.data_parallel).

Without an MPI launch there is one process and one device, ``"cpu:0"``; a DataParallel distribution
is then a one-device mesh and changes nothing.
"""
from __future__ import annotations

import contextlib
import math
import os
import warnings

import numpy

from ..optimizers import base as _optimizer_base
from . import mpi
from .data_parallel import GradientAverager

DEFAULT_BATCH_DIM_NAME = "batch"
_DEVICE_TYPES = ("cpu", "gpu", "tpu")
_current: Distribution | None = None


def _check_device_type(device_type, owner: str) -> str:
    if device_type is None:
        return "cpu"
    kind = str(device_type).lower()
    if kind not in _DEVICE_TYPES:
        raise ValueError(f"{owner}: expected device_type to be one of {_DEVICE_TYPES} or None, "
                         f"received device_type={device_type!r}")
    return kind


def list_devices(device_type: str | None = None) -> list[str]:
    """All devices of the job, ``"cpu:<rank>"`` for each of the P MPI processes (one device per process:
    the NumPy engine runs on the CPU). ``"gpu"`` / ``"tpu"`` give an empty list."""
    kind = _check_device_type(device_type, "list_devices")
    if kind != "cpu":
        return []
    return [f"cpu:{i}" for i in range(mpi.num_processes())]


def get_device_count(device_type: str | None = None) -> int:
    """len(list_devices(device_type))."""
    return len(list_devices(device_type))


def initialize(job_addresses: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> None:
    """Start MPI (import mpi4py, get COMM_WORLD) for a multi-process job.

    The MPI launcher (``mpiexec -n P``, ``srun``) already decides the processes and their addresses, so
    the arguments (and Keras's ``KERAS_DISTRIBUTION_*`` environment variables) are only checked against
    it: ``num_processes`` must equal P and ``process_id`` this rank. ``job_addresses`` is not used.
    """
    env = os.environ
    if num_processes is None and "KERAS_DISTRIBUTION_NUM_PROCESSES" in env:
        num_processes = int(env["KERAS_DISTRIBUTION_NUM_PROCESSES"])
    if process_id is None and "KERAS_DISTRIBUTION_PROCESS_ID" in env:
        process_id = int(env["KERAS_DISTRIBUTION_PROCESS_ID"])
    if num_processes is not None and int(num_processes) > 1 and mpi.launched_size() == 1 and not mpi.is_initialized():
        raise ValueError(f"initialize: num_processes={num_processes} but this process was not started by an MPI "
                         f"launcher; run `mpiexec -n {num_processes} python ...` (or srun -n {num_processes})")
    comm = mpi.initialize()
    size = 1 if comm is None else comm.Get_size()
    rank = 0 if comm is None else comm.Get_rank()
    if num_processes is not None and int(num_processes) != size:
        raise ValueError(f"initialize: num_processes={num_processes} but MPI started {size} process(es); launch "
                         f"with `mpiexec -n {num_processes} python ...` (or srun -n {num_processes})")
    if process_id is not None and int(process_id) != rank:
        raise ValueError(f"initialize: process_id={process_id} but this MPI process has rank {rank}; the launcher "
                         "assigns the ranks")


class DeviceMesh:
    """Devices arranged in an n-dimensional grid with named axes (``shape`` (8,) for data parallelism).

    Args:
        shape: the grid's shape; its product must equal the number of devices.
        axis_names: one name per axis (e.g. ``["batch"]``).
        devices: the devices (default: :func:`list_devices`), reshaped to ``shape``.
    """

    def __init__(self, shape, axis_names, devices=None):
        if not shape or not axis_names:
            raise ValueError(f"DeviceMesh: shape and axis_names cannot be empty. "
                             f"Received: shape={shape}, axis_names={axis_names}")
        if len(shape) != len(axis_names):
            raise ValueError(f"DeviceMesh: shape and axis_names should have the same length. "
                             f"Received: shape={shape}, axis_names={axis_names}")
        devices = numpy.array(list_devices() if devices is None else devices)
        if math.prod(shape) != devices.size:
            raise ValueError(f"DeviceMesh: shape does not match the number of devices. "
                             f"Received: shape={shape}; devices.shape={devices.shape}")
        self._shape = shape
        self._axis_names = axis_names
        self._devices = numpy.reshape(devices, shape)

    @property
    def shape(self):
        return self._shape

    @property
    def axis_names(self):
        return self._axis_names

    @property
    def devices(self) -> numpy.ndarray:
        return self._devices

    def __repr__(self) -> str:
        return f"<{type(self).__name__} shape={self.shape}, axis_names={self.axis_names}>"

    __str__ = __repr__


class TensorLayout:
    """How a tensor is laid out on a mesh: one mesh axis name (sharded along it) or None (replicated)
    per tensor dimension."""

    def __init__(self, axes, device_mesh: DeviceMesh | None = None):
        self._axes = tuple(axes)
        self._device_mesh = device_mesh
        self._validate_axes()

    @property
    def axes(self) -> tuple:
        return self._axes

    @property
    def device_mesh(self) -> DeviceMesh | None:
        return self._device_mesh

    @device_mesh.setter
    def device_mesh(self, device_mesh: DeviceMesh) -> None:
        if self._device_mesh is not None:
            raise ValueError(f"TensorLayout: cannot override the device mesh. Existing value is {self._device_mesh}")
        self._device_mesh = device_mesh
        self._validate_axes()

    def _validate_axes(self) -> None:
        if self._device_mesh:
            valid = set(self._device_mesh.axis_names)
            unknown = set(self._axes) - {None} - valid
            if unknown:
                raise ValueError(f"TensorLayout: invalid axis names for the layout. Valid axis names: {valid}, "
                                 f"Got {set(self._axes) - {None}}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} axes={self.axes}, device_mesh={self.device_mesh}>"

    __str__ = __repr__


class Distribution:
    """Base class of distributions: a device mesh, the batch axis name, and this process's place
    among the P processes (``num_processes``, ``data_shard_id``)."""

    def __init__(self, device_mesh: DeviceMesh, batch_dim_name: str | None = None, auto_shard_dataset: bool = True):
        self._device_mesh = device_mesh
        self._batch_dim_name = batch_dim_name
        self._auto_shard_dataset = auto_shard_dataset
        self._num_processes = mpi.num_processes()
        self._process_id = mpi.process_id()
        self._is_multi_process = self._num_processes > 1

    @property
    def num_processes(self) -> int:
        return self._num_processes

    @property
    def num_model_replicas(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define num_model_replicas")

    @property
    def data_shard_id(self) -> int:
        """The shard of the data this process reads (its rank when there is a replica per process)."""
        replicas = self.num_model_replicas
        if replicas >= self.num_processes:
            return self._process_id
        return self._process_id // (self.num_processes // replicas)

    def get_data_layout(self, data_shape):
        raise NotImplementedError(f"{type(self).__name__} must define get_data_layout")

    def get_variable_layout(self, variable):
        raise NotImplementedError(f"{type(self).__name__} must define get_variable_layout")

    def get_tensor_layout(self, path):
        raise NotImplementedError(f"{type(self).__name__} must define get_tensor_layout")

    @contextlib.contextmanager
    def scope(self):
        """Make this the current distribution inside the ``with`` block."""
        previous = distribution()
        set_distribution(self)
        try:
            yield
        finally:
            set_distribution(previous)

    @property
    def device_mesh(self) -> DeviceMesh:
        return self._device_mesh

    @property
    def batch_dim_name(self) -> str | None:
        return self._batch_dim_name

    @property
    def auto_shard_dataset(self) -> bool:
        return self._auto_shard_dataset

    @auto_shard_dataset.setter
    def auto_shard_dataset(self, value: bool) -> None:
        self._auto_shard_dataset = value

    def distribute_dataset(self, dataset):
        """The dataset unchanged with one process; with several, neuronka shards NumPy data through
        :func:`~neuronka.distribution.shard_indices` instead (Keras shards tf.data datasets here)."""
        if not self._is_multi_process or not self.auto_shard_dataset:
            return dataset
        raise ValueError(f"{type(self).__name__}.distribute_dataset: auto-sharding a {type(dataset).__name__} "
                         "is not supported; shard the sample indices with neuronka.distribution.shard_indices")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} device_mesh={self.device_mesh}>"

    __str__ = __repr__


class DataParallel(Distribution):
    """Data parallelism: the model replicated on every device, each batch split along its first axis.

    Give a 1-D ``device_mesh``, or ``devices``, or neither (all of :func:`list_devices`). With P > 1 MPI
    processes the mesh must have one device per process; while this distribution is set
    (:func:`set_distribution` or :meth:`scope`), every optimizer update uses the gradients averaged over
    the processes, ḡ = (1/P) Σ_p g_p (:class:`~neuronka.distribution.data_parallel.GradientAverager`).
    """

    def __init__(self, device_mesh: DeviceMesh | None = None, devices=None, auto_shard_dataset: bool = True):
        if device_mesh:
            if not isinstance(device_mesh, DeviceMesh):
                raise ValueError(f"DataParallel: expected `device_mesh` to be a DeviceMesh. "
                                 f"Received: device_mesh={device_mesh} (of type {type(device_mesh)})")
            super().__init__(device_mesh, device_mesh.axis_names[0], auto_shard_dataset)
            if device_mesh.devices.ndim != 1:
                warnings.warn(f"DataParallel: expected a 1-D device mesh, received mesh.devices.ndim="
                              f"{device_mesh.devices.ndim}; the first axis is used for data-parallel sharding",
                              stacklevel=2)
        else:
            devices = numpy.array(devices if devices else list_devices())
            mesh = DeviceMesh(shape=devices.shape, axis_names=[DEFAULT_BATCH_DIM_NAME], devices=devices)
            super().__init__(mesh, DEFAULT_BATCH_DIM_NAME, auto_shard_dataset)
        if self._is_multi_process and self.device_mesh.devices.size != self.num_processes:
            raise ValueError(f"DataParallel: with {self.num_processes} MPI processes the mesh needs one device per "
                             f"process ({self.num_processes}), received a mesh of {self.device_mesh.devices.size} "
                             "devices")
        self._averager = GradientAverager() if self._is_multi_process else None

    @property
    def num_model_replicas(self) -> int:
        return int(self.device_mesh.devices.size)

    def get_data_layout(self, data_shape) -> TensorLayout:
        """Sharded along the first (batch) axis, replicated along the others."""
        axes = [None] * len(data_shape)
        axes[0] = self.batch_dim_name
        return TensorLayout(axes, self.device_mesh)

    def get_variable_layout(self, variable) -> TensorLayout:
        """Replicated (a layout assigned to the variable wins)."""
        layout = getattr(variable, "_layout", None)
        if layout is not None:
            return layout
        return TensorLayout([None] * len(variable.shape), self.device_mesh)

    def get_tensor_layout(self, path):
        """None: data parallelism leaves intermediate tensors as they are."""
        return None


def distribution() -> Distribution | None:
    """The current distribution (None when none is set)."""
    return _current


def set_distribution(value: Distribution | None) -> None:
    """Make ``value`` the current distribution (None: none). A multi-process :class:`DataParallel` turns
    on the gradient averaging of every optimizer; anything else turns it off."""
    global _current
    if value is not None and not isinstance(value, Distribution):
        raise ValueError(f"set_distribution: expected a Distribution or None, received {value!r}")
    _current = value
    _optimizer_base.gradient_reducer = getattr(value, "_averager", None) if isinstance(value, DataParallel) else None
