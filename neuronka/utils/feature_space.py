"""``keras.utils.FeatureSpace``: one object that preprocesses a dict of structured-data features.

Each feature is declared by a type — ``"float"`` (as is), ``"float_rescaled"`` (``Rescaling``),
``"float_normalized"`` (``Normalization``, adapted), ``"float_discretized"`` (``Discretization``, adapted),
``"integer_categorical"`` / ``"string_categorical"`` (``IntegerLookup`` / ``StringLookup``, adapted),
``"integer_hashed"`` / ``"string_hashed"`` (``Hashing``) — or by ``FeatureSpace.feature(dtype, preprocessor,
output_mode)`` with any layer. ``crosses`` hash pairs (or tuples) of categorical features together
(``HashedCrossing`` into ``crossing_dim`` bins). Features with ``output_mode="one_hot"`` are multi-hot encoded
(``CategoryEncoding``) over their preprocessor's cardinality; ``output_mode="concat"`` concatenates everything
along the last axis (in the order of the sorted feature names, then the sorted cross names), ``"dict"`` returns
one entry per feature and cross.

:meth:`FeatureSpace.adapt` fits the adaptable preprocessors, as Keras does on a ``tf.data.Dataset``: from a dict
of arrays (split into single rows, then batched by 32: Keras's ``from_tensor_slices`` then ``batch(32)``), or
from a neuronka ``Dataset`` / any iterable yielding dicts of batches; each feature is fed to its preprocessor as
(batch, 1) columns. Keras's FeatureSpace needs TensorFlow; this one runs on NumPy. Its config and serialized form
are Keras's (the classes ``Feature``, ``Cross``, ``TFDIdentity`` and ``TFDConcat`` under Keras's module name), and
:meth:`save` writes a ``.keras`` file that ``neuronka.saving.load_model`` reads back.
"""
from __future__ import annotations

import numpy

from .. import layers
from ..autograd import Tensor
from ..layers.base import Layer, unique_name
from ..serialization import deserialize_keras_object, serialize_keras_object

__all__ = ["FeatureSpace"]

_KERAS_MODULE = "keras.src.layers.preprocessing.feature_space"


class Cross:
    """A crossed feature: the features ``feature_names`` hashed together into ``crossing_dim`` bins."""

    _keras_module = _KERAS_MODULE
    _keras_registered_name = "Cross"

    def __init__(self, feature_names, crossing_dim, output_mode="one_hot"):
        if output_mode not in {"int", "one_hot"}:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of {{'int', 'one_hot'}}. "
                             f"Received: output_mode={output_mode}")
        self.feature_names = tuple(feature_names)
        self.crossing_dim = crossing_dim
        self.output_mode = output_mode

    @property
    def name(self) -> str:
        return "_X_".join(self.feature_names)

    def get_config(self) -> dict:
        return {"feature_names": self.feature_names, "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Feature:
    """A feature: the dtype of its input, the layer that preprocesses it, and how its output is encoded
    ("int": as is, "one_hot": multi-hot over the preprocessor's cardinality, "float": as is)."""

    _keras_module = _KERAS_MODULE
    _keras_registered_name = "Feature"

    def __init__(self, dtype, preprocessor, output_mode):
        if output_mode not in {"int", "one_hot", "float"}:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of "
                             f"{{'int', 'one_hot', 'float'}}. Received: output_mode={output_mode}")
        self.dtype = dtype
        if isinstance(preprocessor, dict):
            preprocessor = deserialize_keras_object(preprocessor)
        self.preprocessor = preprocessor
        self.output_mode = output_mode

    def get_config(self) -> dict:
        return {"dtype": self.dtype, "preprocessor": serialize_keras_object(self.preprocessor),
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class TFDIdentity(Layer):
    """The preprocessor of a "float" feature: y = x (in the layer's dtype)."""

    _keras_module = _KERAS_MODULE
    _keras_registered_name = "TFDIdentity"

    def call(self, x):
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        config = super().get_config()
        return {"name": config["name"], "dtype": config["dtype"], "trainable": config["trainable"]}


class TFDConcat(Layer):
    """Concatenation along ``axis`` of a list of tensors."""

    _keras_module = _KERAS_MODULE
    _keras_registered_name = "TFDConcat"

    def __init__(self, axis, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, xs):
        from .. import ops  # noqa: PLC0415

        return ops.concatenate(list(xs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        sizes = [s[self.axis] for s in shapes]
        out = list(shapes[0])
        out[self.axis] = None if any(v is None for v in sizes) else sum(sizes)
        return tuple(out)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


def _is_int_dtype(dtype) -> bool:
    return str(dtype).startswith(("int", "uint"))


class FeatureSpace(Layer):
    """Preprocess and encode a dict of features (see the module docstring).

    ``features``: {name: a type name, a :class:`Feature`, or its serialized dict}; ``output_mode``: "concat" or
    "dict"; ``crosses``: a list of tuples of feature names (or :class:`Cross`); ``crossing_dim``,
    ``hashing_dim``, ``num_discretization_bins``: the sizes the type names use.
    """

    _keras_module = "keras.utils"
    _saved_as_model = True  # FeatureSpace.save / neuronka.saving.load_model handle it like a model, as Keras does

    @classmethod
    def cross(cls, feature_names, crossing_dim, output_mode="one_hot") -> Cross:
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype, preprocessor, output_mode) -> Feature:
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name=None) -> Feature:  # noqa: A003
        name = name or unique_name("float")
        return Feature(dtype="float32", preprocessor=TFDIdentity(dtype="float32", name=f"{name}_preprocessor"),
                       output_mode="float")

    @classmethod
    def float_rescaled(cls, scale=1.0, offset=0.0, name=None) -> Feature:
        name = name or unique_name("float_rescaled")
        preprocessor = layers.Rescaling(scale=scale, offset=offset, name=f"{name}_preprocessor")
        return Feature(dtype="float32", preprocessor=preprocessor, output_mode="float")

    @classmethod
    def float_normalized(cls, name=None) -> Feature:
        name = name or unique_name("float_normalized")
        preprocessor = layers.Normalization(axis=-1, name=f"{name}_preprocessor")
        return Feature(dtype="float32", preprocessor=preprocessor, output_mode="float")

    @classmethod
    def float_discretized(cls, num_bins, bin_boundaries=None, output_mode="one_hot", name=None) -> Feature:
        name = name or unique_name("float_discretized")
        preprocessor = layers.Discretization(num_bins=num_bins, bin_boundaries=bin_boundaries,
                                             name=f"{name}_preprocessor")
        return Feature(dtype="float32", preprocessor=preprocessor, output_mode=output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None) -> Feature:
        name = name or unique_name("integer_categorical")
        preprocessor = layers.IntegerLookup(name=f"{name}_preprocessor", max_tokens=max_tokens,
                                            num_oov_indices=num_oov_indices)
        return Feature(dtype="int32", preprocessor=preprocessor, output_mode=output_mode)

    @classmethod
    def string_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None) -> Feature:
        name = name or unique_name("string_categorical")
        preprocessor = layers.StringLookup(name=f"{name}_preprocessor", max_tokens=max_tokens,
                                           num_oov_indices=num_oov_indices)
        return Feature(dtype="string", preprocessor=preprocessor, output_mode=output_mode)

    @classmethod
    def string_hashed(cls, num_bins, output_mode="one_hot", name=None) -> Feature:
        name = name or unique_name("string_hashed")
        preprocessor = layers.Hashing(name=f"{name}_preprocessor", num_bins=num_bins)
        return Feature(dtype="string", preprocessor=preprocessor, output_mode=output_mode)

    @classmethod
    def integer_hashed(cls, num_bins, output_mode="one_hot", name=None) -> Feature:
        name = name or unique_name("integer_hashed")
        preprocessor = layers.Hashing(name=f"{name}_preprocessor", num_bins=num_bins)
        return Feature(dtype="int32", preprocessor=preprocessor, output_mode=output_mode)

    def __init__(self, features, output_mode="concat", crosses=None, crossing_dim=32, hashing_dim=32,
                 num_discretization_bins=32, name=None):
        super().__init__(name=name)
        if not features:
            raise ValueError("The `features` argument cannot be None or empty.")
        self.crossing_dim = crossing_dim
        self.hashing_dim = hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.features = {name: self._standardize_feature(name, value) for name, value in features.items()}
        self.crosses = []
        for cross in crosses or []:
            if isinstance(cross, dict):
                cross = deserialize_keras_object(cross)
            if not isinstance(cross, Cross):
                if not crossing_dim:
                    raise ValueError("When specifying `crosses`, the argument `crossing_dim` (dimensionality of the "
                                     "crossing space) should be specified as well.")
                unknown = [key for key in cross if key not in features]
                if unknown:
                    raise ValueError(f"All features referenced in the `crosses` argument should be present in the "
                                     f"`features` dict. Received unknown features: {cross}")
                cross = Cross(cross, crossing_dim=crossing_dim)
            self.crosses.append(cross)
        self.crosses_by_name = {cross.name: cross for cross in self.crosses}
        if output_mode not in {"dict", "concat"}:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of {{'dict', 'concat'}}. "
                             f"Received: output_mode={output_mode}")
        self.output_mode = output_mode
        self.inputs = {name: layers.Input(shape=(1,), dtype=value.dtype, name=name)
                       for name, value in self.features.items()}
        self.preprocessors = {name: value.preprocessor for name, value in self.features.items()}
        self.encoded_features = None
        self.crossers = {cross.name: layers.HashedCrossing(cross.crossing_dim, name=cross.name)
                         for cross in self.crosses}
        self.one_hot_encoders = {}
        self._is_adapted = False
        self.concat = None
        self._preprocessed_features_names = None
        self._crossed_features_names = None
        self._sublayers_built = False

    def _standardize_feature(self, name, feature) -> Feature:
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, dict):
            return deserialize_keras_object(feature)
        makers = {
            "float": lambda: self.float(name=name),
            "float_normalized": lambda: self.float_normalized(name=name),
            "float_rescaled": lambda: self.float_rescaled(name=name),
            "float_discretized": lambda: self.float_discretized(name=name, num_bins=self.num_discretization_bins),
            "integer_categorical": lambda: self.integer_categorical(name=name),
            "string_categorical": lambda: self.string_categorical(name=name),
            "integer_hashed": lambda: self.integer_hashed(self.hashing_dim, name=name),
            "string_hashed": lambda: self.string_hashed(self.hashing_dim, name=name),
        }
        if feature not in makers:
            raise ValueError(f"Invalid feature type: {feature}")
        return makers[feature]()

    # ---- adapt ---------------------------------------------------------------------------------------------
    def _list_adaptable_preprocessors(self) -> list[str]:
        names = []
        for name in self.features:
            preprocessor = self.preprocessors[name]
            if isinstance(preprocessor, layers.Normalization) and preprocessor.input_mean is not None:
                continue  # given mean and variance: nothing to learn
            if isinstance(preprocessor, layers.TextVectorization) and preprocessor._has_input_vocabulary:
                continue
            if hasattr(preprocessor, "adapt"):
                names.append(name)
        return names

    @staticmethod
    def _feature_batches(dataset, name: str) -> list[numpy.ndarray]:
        """The batches of one feature as Keras feeds its preprocessor: rank-0 items batched by 32, then a trailing
        axis added to rank-1 batches."""
        if isinstance(dataset, dict):
            column = numpy.asarray(_as_numpy(dataset[name]))
            items = [numpy.asarray(column[i], dtype=column.dtype) for i in range(len(column))]  # Keras's slices
        else:
            items = []
            for batch in dataset:
                if not isinstance(batch, dict):
                    raise ValueError(f"FeatureSpace.adapt: the dataset must yield dicts of features, received a "
                                     f"{type(batch).__name__}")
                items.append(numpy.asarray(_as_numpy(batch[name])))
        if not items:
            return []
        if items[0].ndim == 0:
            items = [numpy.stack(items[i:i + 32]) for i in range(0, len(items), 32)]
        if items[0].ndim == 1:
            items = [x[:, None] for x in items]
        return items

    def adapt(self, dataset) -> None:
        """Fit every adaptable preprocessor on its feature of ``dataset``: a dict of arrays/lists (one row per
        sample), or a neuronka ``Dataset`` / iterable of dicts of batches."""
        if not isinstance(dataset, dict):
            if isinstance(dataset, (str, bytes, numpy.ndarray, Tensor)) or not hasattr(dataset, "__iter__"):
                raise ValueError(f"`adapt()` can only be called on a neuronka Dataset (or an iterable of dicts) or "
                                 f"a dict of arrays/lists. Received instead: {dataset} (of type {type(dataset)})")
            dataset = list(dataset)  # read once, shared by every feature
        for name in self._list_adaptable_preprocessors():
            self.preprocessors[name].adapt(iter(self._feature_batches(dataset, name)))
        self._is_adapted = True
        self.get_encoded_features()  # finish building: the encoders and the concatenation
        self.built = True
        self._sublayers_built = True

    # ---- the graph of encoded features ----------------------------------------------------------------------
    def get_inputs(self) -> dict:
        """The symbolic inputs, one ``Input(shape=(1,), dtype=...)`` per feature."""
        self._check_if_built()
        return self.inputs

    def get_encoded_features(self):
        """The encoded features as symbolic tensors (one tensor for "concat", a dict for "dict"): with
        :meth:`get_inputs`, a functional model doing the preprocessing."""
        self._check_if_adapted()
        if self.encoded_features is None:
            preprocessed = self._preprocess_features(self.inputs)
            crossed = self._cross_features(preprocessed)
            self.encoded_features = self._merge_features(preprocessed, crossed)
        return self.encoded_features

    def _preprocess_features(self, features) -> dict:
        return {name: self.preprocessors[name](features[name]) for name in features}

    def _cross_features(self, features) -> dict:
        return {cross.name: self.crossers[cross.name]([features[name] for name in cross.feature_names])
                for cross in self.crosses}

    def _merge_features(self, preprocessed: dict, crossed: dict):
        if not self._preprocessed_features_names:
            self._preprocessed_features_names = sorted(preprocessed)
            self._crossed_features_names = sorted(crossed)
        names = self._preprocessed_features_names + self._crossed_features_names
        values = ([preprocessed[n] for n in self._preprocessed_features_names]
                  + [crossed[n] for n in self._crossed_features_names])
        if self._sublayers_built:  # the encoders exist: apply them
            encoded = {}
            for name, value in zip(names, values):
                encoder = self.one_hot_encoders.get(name)
                encoded[name] = encoder(value) if encoder else value
            return encoded if self.output_mode == "dict" else self.concat([encoded[n] for n in names])
        specs = ([self.features[n] for n in self._preprocessed_features_names]
                 + [self.crosses_by_name[n] for n in self._crossed_features_names])
        encoded = {}
        for name, value, spec in zip(names, values, specs):
            dtype = str(value.dtype)
            if spec.output_mode == "one_hot":
                preprocessor = self.preprocessors.get(name) or self.crossers.get(name)
                if not _is_int_dtype(dtype):
                    raise ValueError(f"Feature '{name}' has `output_mode='one_hot'`. Thus its preprocessor should "
                                     f"return an integer dtype. Instead it returns a {dtype} dtype.")
                if isinstance(preprocessor, (layers.IntegerLookup, layers.StringLookup)):
                    cardinality = preprocessor.vocabulary_size()
                elif isinstance(preprocessor, layers.CategoryEncoding):
                    cardinality = preprocessor.num_tokens
                elif isinstance(preprocessor, (layers.Discretization, layers.HashedCrossing, layers.Hashing)):
                    cardinality = preprocessor.num_bins
                else:
                    raise ValueError(f"Feature '{name}' has `output_mode='one_hot'`. However it isn't a standard "
                                     f"feature and the dimensionality of its output space is not known, thus it "
                                     f"cannot be one-hot encoded. Try using `output_mode='int'`.")
                if cardinality is not None:
                    encoder = layers.CategoryEncoding(num_tokens=cardinality, output_mode="multi_hot")
                    self.one_hot_encoders[name] = encoder
                    value = encoder(value)
            if self.output_mode == "concat":
                dtype = str(value.dtype)
                if _is_int_dtype(dtype) or dtype == "string":
                    raise ValueError(f"Cannot concatenate features because feature '{name}' has not been encoded "
                                     f"(it has dtype {dtype}). Consider using `output_mode='dict'`.")
            encoded[name] = value
        if self.output_mode == "concat":
            self.concat = TFDConcat(axis=-1)
            return self.concat([encoded[n] for n in names])
        return encoded

    def _check_if_adapted(self) -> None:
        if not self._is_adapted:
            if self._list_adaptable_preprocessors():
                raise ValueError("You need to call `.adapt(dataset)` on the FeatureSpace before you can start "
                                 "using it.")
            self._is_adapted = True

    def _check_if_built(self) -> None:
        if not self._sublayers_built:
            self._check_if_adapted()
            self.get_encoded_features()
            self._sublayers_built = True

    # ---- calling on data ----------------------------------------------------------------------------------------
    def __call__(self, data):
        """Encode a dict of features (arrays, lists, Tensors or scalars; a scalar per feature is one sample and
        comes back without the batch axis)."""
        self._check_if_built()
        if not isinstance(data, dict):
            raise ValueError(f"A FeatureSpace can only be called with a dict. Received: data={data} "
                             f"(of type {type(data)}")
        arrays, rebatched = {}, False
        for key, value in data.items():
            x = numpy.asarray(_as_numpy(value))
            if x.dtype.kind in "US":
                x = x.astype(object)
            if x.ndim == 0:
                x, rebatched = x.reshape(1, 1), True
            elif x.ndim == 1:
                x = x[:, None]
            arrays[key] = x
        preprocessed = self._preprocess_features(arrays)
        crossed = self._cross_features(preprocessed)
        merged = self._merge_features(preprocessed, crossed)
        if rebatched:
            if self.output_mode == "concat":
                if merged.shape[0] != 1:
                    raise ValueError(f"Expected rebatched data to have batch size 1. Received: shape={merged.shape}")
                return Tensor(merged.numpy()[0])
            return {k: Tensor(v.numpy()[0]) if v.ndim == 2 and v.shape[0] == 1 else v for k, v in merged.items()}
        return merged

    # ---- config and saving --------------------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"features": serialize_keras_object(self.features), "output_mode": self.output_mode,
                "crosses": serialize_keras_object(self.crosses), "crossing_dim": self.crossing_dim,
                "hashing_dim": self.hashing_dim, "num_discretization_bins": self.num_discretization_bins}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)

    def get_build_config(self) -> dict:
        return {name: feature.preprocessor.get_build_config() for name, feature in self.features.items()}

    def build_from_config(self, config) -> None:
        for name in config:
            preprocessor = self.features[name].preprocessor
            if not preprocessor.built and config[name]:
                preprocessor.build_from_config(config[name])
        self._is_adapted = True
        self.built = True

    def save(self, filepath) -> None:
        """Write the feature space (config, adapted state, vocabularies) to a ``.keras`` file."""
        from ..saving import saving_lib  # noqa: PLC0415

        saving_lib.save_model(self, str(filepath))

    def save_own_variables(self, store) -> None:
        return

    def load_own_variables(self, store) -> None:
        return


def _as_numpy(value):
    if isinstance(value, Tensor):
        return numpy.asarray(value.data)
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (str, bytes)):
        return numpy.asarray(value, dtype=object)
    return value
