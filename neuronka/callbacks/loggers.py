"""Callbacks that send the epoch logs elsewhere: :class:`CSVLogger` (a CSV file) and :class:`RemoteMonitor`
(an HTTP POST per epoch). :class:`~neuronka.callbacks.TensorBoard` has its own module."""
from __future__ import annotations

import collections.abc
import csv
import json
import os
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy

from .base import Callback


class CSVLogger(Callback):
    """Stream the epoch logs to a CSV file: the column ``epoch`` then the log keys sorted by name.

    The columns are fixed at the first epoch: its keys, sorted; if none of them starts with ``val_``, a
    ``val_<key>`` column is added for each (filled when validation runs later, else ``NA``); a key missing
    at an epoch is written ``NA``. ``separator``: a one-character string. ``append=True`` continues an
    existing file (its header is not repeated if the file has one); otherwise the file is overwritten.
    Lists or arrays are written as ``"[a, b, ...]"``.
    """

    def __init__(self, filename, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise TypeError(f'CSVLogger: "separator" must be a 1-character string (the CSV delimiter). '
                            f"Received: separator={separator!r}")
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys: list[str] | None = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, encoding="utf-8") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")  # noqa: SIM115 - closed at train end
        self.writer = None
        self.keys = None

    @staticmethod
    def _cell(value):
        if isinstance(value, str):
            return value
        if isinstance(value, collections.abc.Iterable) and not (isinstance(value, numpy.ndarray) and value.ndim == 0):
            return f'"[{", ".join(map(str, value))}]"'
        return value

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs.keys())
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys.extend([f"val_{k}" for k in self.keys])
        if self.writer is None:
            sep = self.sep

            class _Dialect(csv.excel):
                delimiter = sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch", *self.keys], dialect=_Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, self._cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


class RemoteMonitor(Callback):
    """POST the logs of each epoch to ``root + path``, with Python's ``urllib`` (no other dependency).

    The payload is ``{"epoch": epoch, <log key>: value, ...}`` (NumPy values as Python numbers). By default it
    is sent as a form, ``<field>=<the payload as JSON>`` (``application/x-www-form-urlencoded``, as Keras's
    ``requests.post(url, {field: json.dumps(payload)})``); with ``send_as_json=True`` the body is the JSON
    itself (``application/json``). ``headers``: extra HTTP headers. A server that cannot be reached gives a
    warning, not an error; its HTTP error statuses are ignored, as ``requests`` ignores them.
    """

    def __init__(self, root: str = "http://localhost:9000", path: str = "/publish/epoch/end/", field: str = "data",
                 headers: dict | None = None, send_as_json: bool = False) -> None:
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json

    def _request(self, payload: dict) -> urllib.request.Request:
        if self.send_as_json:
            body = json.dumps(payload, allow_nan=False).encode("utf-8")
            content_type = "application/json"
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(payload)}).encode("ascii")
            content_type = "application/x-www-form-urlencoded"
        headers = {"Content-Type": content_type, **dict(self.headers or {})}
        return urllib.request.Request(self.root + self.path, data=body, headers=headers, method="POST")

    def on_epoch_end(self, epoch, logs=None):
        payload = {"epoch": epoch}
        for key, value in (logs or {}).items():
            payload[key] = value.item() if isinstance(value, (numpy.ndarray, numpy.generic)) else value
        try:
            request = self._request(payload)
        except ValueError as e:  # NaN or inf are not JSON (requests refuses them too)
            warnings.warn(f"RemoteMonitor: could not send the logs of epoch {epoch} as JSON to {self.root}: {e}",
                          stacklevel=2)
            return
        try:
            with urllib.request.urlopen(request) as response:
                response.read()
        except urllib.error.HTTPError as e:
            e.close()  # the server answered (with an error status): requests does not raise on those either
        except (urllib.error.URLError, OSError, ValueError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}", stacklevel=2)
