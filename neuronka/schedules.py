"""``neuronka.schedules``: the learning-rate schedules, kept at their older place.

They live in :mod:`neuronka.optimizers.schedules` (``keras.optimizers.schedules``); this module
re-exports them so that ``from neuronka import schedules`` keeps working.
"""
from .optimizers.schedules import (  # noqa: F401
    ALL_SCHEDULES,
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    OneCycle,
    PiecewiseConstantDecay,
    PolynomialDecay,
    deserialize,
    get,
    serialize,
)
