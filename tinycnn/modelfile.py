"""Reading model files and checkpoints without trusting them.

A model file is an .npz: a zip archive of .npy arrays, one of them ("__architecture__") a
JSON text. A hostile or damaged file may declare gigabytes, nest its JSON 100,000 deep, ask
for a layer of 10^10 weights or a stride of 0, or hold NaN. So nothing is taken on trust and
everything is checked before anything big is allocated:

1. the zip directory (names and declared sizes; no data read yet);
2. the architecture JSON (at most 1 MB): layer types, every option's type and range, the
   nesting depth, and the parameter count computed from the options, before a layer is built;
3. the layers, built without random initialisation (their weights are about to be loaded);
4. every array's .npy header (shape and dtype) against what the layers need, and the entry's
   declared size against what that header implies; only then the data, which must be finite.

Every fault is a ModelFileError that names the file and the entry.
"""
import json
import math
import zipfile
import zlib

import numpy as np

from .fileio import NotAFileError, open_regular
from .layers import (LAYER_TYPES, BatchNorm1D, BatchNorm2D, Chain, Conv2D, Dense, Dropout, Flatten,
                     MaxPool2D, ReLU)
from .layers.base import weights_to_be_loaded

FORMAT = "tinycnn-model-1"
MAX_PARAMETERS = 50_000_000   # weights and buffers of one model (200 MB of float32)
MAX_DEPTH = 8                 # layers inside layers (a residual block is depth 2)
MAX_LAYERS = 1000
MAX_JSON_BYTES = 1 << 20
MAX_ENTRIES = 10_000
MAX_STRING = 1000             # a string option of a custom layer

# What can go wrong while reading a zip member or an .npy header, whatever the damage.
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError,
                NotImplementedError, OverflowError, MemoryError)


class ModelFileError(ValueError):
    """A model file or checkpoint that cannot be read, or whose arrays do not fit its architecture."""


class Archive:
    """An .npz opened for checked reading. On opening, only the zip directory is read.

    `entries`: {name without ".npy": ZipInfo}. Use as a context manager.
    """

    def __init__(self, path, what="tinycnn model file"):
        self.path = str(path)
        try:
            self.file = open_regular(path)
        except FileNotFoundError:
            raise
        except NotAFileError as e:
            raise ModelFileError(f"{path}: {e.kind}, not a {what}") from None
        except OSError as e:
            raise ModelFileError(f"{path}: not a readable {what} ({e.strerror or e})") from None
        try:
            self.zip = zipfile.ZipFile(self.file)
            infos = self.zip.infolist()
        except _READ_ERRORS as e:
            self.file.close()
            raise ModelFileError(f"{path}: not a readable {what} (not a complete .npz archive: {e})") from None
        self.entries = {}
        try:
            if len(infos) > MAX_ENTRIES:
                raise ModelFileError(f"{path}: {len(infos)} entries; a {what} has at most {MAX_ENTRIES}")
            for info in infos:
                name = info.filename
                if not name.endswith(".npy") or info.is_dir():
                    raise self.fault(name, "not an .npy array; not a readable " + what)
                if name[:-4] in self.entries:
                    raise self.fault(name, "appears twice in the archive")
                self.entries[name[:-4]] = info
        except ModelFileError:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.zip.close()
        self.file.close()

    def fault(self, name, problem):
        """A ModelFileError naming this file and the entry `name`."""
        return ModelFileError(f"{self.path}: entry {name}: {problem}")

    def header(self, name):
        """(shape, dtype) that entry `name` declares, read from its .npy header alone."""
        info = self.entries[name]
        try:
            with self.zip.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    raise ValueError(f".npy format version {version} is not supported")
                data_at = f.tell()
        except _READ_ERRORS as e:
            raise self.fault(name, f"unreadable .npy header ({e})") from None
        if dtype.hasobject:
            raise self.fault(name, "holds Python objects, which only pickle could load; refused")
        need = data_at + math.prod(shape) * dtype.itemsize
        if info.file_size != need:
            raise self.fault(name, f"declares {info.file_size:,} bytes, but its header "
                                   f"(shape {shape}, {dtype}) means {need:,}")
        return tuple(shape), dtype

    def array(self, name, shape, kinds="f", owner="it"):
        """Entry `name` as an array, once its header declares exactly `shape` and a dtype kind in
        `kinds` ("f" float, "i" signed, "u" unsigned integer). Floats must be finite."""
        got, dtype = self.header(name)
        if got != tuple(shape):
            raise ModelFileError(f"{self.path}: array {name} has shape {got}, but {owner} needs {tuple(shape)}")
        if dtype.kind not in kinds or dtype.itemsize > 8:
            words = {"f": "float", "i": "integer", "u": "unsigned integer"}
            raise self.fault(name, f"dtype {dtype}, expected {' or '.join(words[k] for k in kinds)}")
        try:
            with self.zip.open(self.entries[name]) as f:
                a = np.lib.format.read_array(f, allow_pickle=False)
        except _READ_ERRORS as e:
            raise self.fault(name, f"cannot read its data ({e})") from None
        if a.dtype.kind == "f":
            bad = a.size - int(np.count_nonzero(np.isfinite(a)))
            if bad:
                raise self.fault(name, f"{bad:,} of its {a.size:,} values are NaN or infinite")
        return a

    def json(self, name):
        """Entry `name` (a JSON text stored as a string scalar), parsed; NaN and Infinity refused."""
        if name not in self.entries:
            raise ModelFileError(f"{self.path}: no {name} entry")
        if self.entries[name].file_size > MAX_JSON_BYTES:
            raise self.fault(name, f"declares {self.entries[name].file_size:,} bytes; "
                                   f"at most {MAX_JSON_BYTES:,} are allowed for it")
        shape, dtype = self.header(name)
        if dtype.kind != "U" or shape != ():
            raise self.fault(name, f"expected a JSON text (a string scalar), got shape {shape} of {dtype}")
        try:
            with self.zip.open(self.entries[name]) as f:
                text = str(np.lib.format.read_array(f, allow_pickle=False)[()])
            return json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise self.fault(name, "JSON nested too deeply") from None
        except _READ_ERRORS as e:  # json.JSONDecodeError is a ValueError
            raise self.fault(name, f"not valid JSON ({e})") from None


def _refuse_constant(word):
    raise ValueError(f"{word} is not a number a model may hold")


# -- the architecture -------------------------------------------------------------------------------
# Built-in layers: each option's (type, lowest, highest, default); REQUIRED has no default.
REQUIRED = object()
_CHANNELS = (int, 1, 1 << 16, REQUIRED)
_BN = dict(num_features=(int, 1, 1 << 20, REQUIRED), eps=(float, 1e-12, 1.0, 1e-5), momentum=(float, 0.0, 1.0, 0.1))
OPTIONS = {
    Conv2D: dict(in_channels=_CHANNELS, out_channels=_CHANNELS, kernel_size=(int, 1, 64, REQUIRED),
                 stride=(int, 1, 64, 1), padding=(int, 0, 64, 0)),
    Dense: dict(in_features=(int, 1, MAX_PARAMETERS, REQUIRED), out_features=(int, 1, MAX_PARAMETERS, REQUIRED)),
    MaxPool2D: dict(kernel_size=(int, 1, 16, REQUIRED), stride=(int, 1, 16, None)),
    Dropout: dict(p=(float, 0.0, 0.99, 0.5)),
    BatchNorm1D: _BN,
    BatchNorm2D: _BN,
    ReLU: {},
    Flatten: {},
}


def _parameters(cls, c):
    """Parameters and buffers a built-in layer will hold, from its checked options."""
    if cls is Conv2D:
        return c["out_channels"] * (c["in_channels"] * c["kernel_size"] ** 2 + 1)
    if cls is Dense:
        return c["out_features"] * (c["in_features"] + 1)
    if cls in (BatchNorm1D, BatchNorm2D):
        return 4 * c["num_features"]
    return 0


def _is_number(v, kind):
    if isinstance(v, bool):
        return False
    if kind is int:
        return isinstance(v, int)
    return isinstance(v, (int, float)) and math.isfinite(v)


def _check_options(cls, config, where):
    """The options of a built-in layer, checked and completed with defaults."""
    rules = OPTIONS[cls]
    unknown = sorted(set(config) - set(rules))
    if unknown:
        raise ModelFileError(f"{where}: {cls.__name__} has no option {unknown[0]!r} (options: {sorted(rules)})")
    out = {}
    for key, (kind, lo, hi, default) in rules.items():
        if key not in config or (config[key] is None and default is None):
            if default is REQUIRED:
                raise ModelFileError(f"{where}: {cls.__name__} needs the option {key!r}")
            out[key] = default
            continue
        v = config[key]
        if not _is_number(v, kind):
            raise ModelFileError(f"{where}: {cls.__name__} option {key!r} must be "
                                 f"{'an integer' if kind is int else 'a finite number'}, got {v!r}")
        if not lo <= v <= hi:
            raise ModelFileError(f"{where}: {cls.__name__} option {key!r} must be in [{lo}, {hi}], got {v!r}")
        out[key] = v
    return out


def _check_scalars(config, kind, where):
    for key, v in config.items():
        ok = v is None or isinstance(v, (bool, int, str)) or (isinstance(v, float) and math.isfinite(v))
        if not ok or (isinstance(v, str) and len(v) > MAX_STRING):
            raise ModelFileError(f"{where}: {kind} option {key!r} must be a number, a short string, "
                                 f"true/false or null, got {type(v).__name__}")


class _Plan:
    """An architecture checked all the way down: what to build, and how many parameters."""

    def __init__(self):
        self.layers, self.parameters = 0, 0

    def check(self, specs, where, depth):
        if not isinstance(specs, list):
            raise ModelFileError(f"{where}: \"layers\" must be a list of layers, got {type(specs).__name__}")
        if depth > MAX_DEPTH:
            raise ModelFileError(f"{where}: layers nested more than {MAX_DEPTH} deep")
        return [self.check_one(s, f"{where}.{i}" if depth else f"{where}: layer {i}", depth)
                for i, s in enumerate(specs)]

    def check_one(self, spec, where, depth):
        """-> (class, options or None for a container, sub-plans, where)."""
        self.layers += 1
        if self.layers > MAX_LAYERS:
            raise ModelFileError(f"{where}: more than {MAX_LAYERS} layers")
        if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
            raise ModelFileError(f"{where}: a layer must be an object with a \"type\", got {_short(spec)}")
        extra = sorted(set(spec) - {"type", "config", "layers"})
        if extra:
            raise ModelFileError(f"{where}: unexpected key {extra[0]!r} in a layer")
        kind, config = spec["type"], spec.get("config", {})
        cls = LAYER_TYPES.get(kind)
        if cls is None:
            raise ModelFileError(f"{where}: unknown layer type {_short(kind)} (known: {sorted(LAYER_TYPES)})")
        if not isinstance(config, dict):
            raise ModelFileError(f"{where}: the config of {kind} must be an object, got {_short(config)}")
        if issubclass(cls, Chain):
            if config:
                raise ModelFileError(f"{where}: {kind} takes layers, not options (got {sorted(config)})")
            return cls, None, self.check(spec.get("layers"), where, depth + 1), where
        if "layers" in spec:
            raise ModelFileError(f"{where}: {kind} holds no layers")
        if cls in OPTIONS:
            config = _check_options(cls, config, where)
            self.parameters += _parameters(cls, config)
            if self.parameters > MAX_PARAMETERS:
                raise ModelFileError(f"{where}: {kind}({_short(config)}) takes the model past "
                                     f"{MAX_PARAMETERS:,} parameters")
        else:
            _check_scalars(config, kind, where)
        return cls, config, [], where

    def build(self, plan):
        """Layers from a checked plan, without random weights; custom layers are counted once built."""
        layers = []
        for cls, config, inner, where in plan:
            if config is None:
                layers.append(cls(*self.build(inner)))
                continue
            layer = _construct(cls, config, where)
            if cls not in OPTIONS:
                self.parameters += sum(int(np.size(v)) for d in (layer.params, layer.buffers) for v in d.values())
                if self.parameters > MAX_PARAMETERS:
                    raise ModelFileError(f"{where}: {cls.__name__} takes the model past {MAX_PARAMETERS:,} parameters")
            layers.append(layer)
        return layers


def _construct(cls, config, where):
    """cls(**config), refusing a layer that fails to build or builds without its dicts."""
    try:
        layer = cls(**config)
        for d in ("params", "grads", "buffers"):
            if not isinstance(getattr(layer, d, None), dict):
                raise TypeError(f"it has no {d} dict (its __init__ must call super().__init__())")
    except Exception as e:  # a custom layer's constructor may raise anything for bad options
        raise ModelFileError(f"{where}: cannot build {cls.__name__} from {_short(config)}: {e}") from None
    return layer


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def build_layers(specs, where="architecture"):
    """Layers from an architecture's "layers" list, checked before anything is built.

    Built without random initialisation: zeros, to be overwritten by the loaded weights.
    Raises ModelFileError naming the layer (by `where` and position) and the fault.
    """
    plan = _Plan()
    checked = plan.check(specs, where, 0)
    with weights_to_be_loaded():
        return plan.build(checked)


def expected_arrays(layers):
    """{dotted name: (shape, description of its owner)} of every array the layers hold, in order."""
    out = {}
    for path, layer in Chain(*layers).named_layers():
        for d in (layer.params, layer.buffers):
            for key, value in d.items():
                out[f"{path}.{key}"] = (value.shape, f"layer {path} {layer!r}")
    return out


def read_arrays(archive, expected, prefix="", skip=(), source=None):
    """The arrays `expected` ({name: (shape, owner)}) from `archive`, stored under prefix + name.

    Refuses a missing or unexpected entry (among those with the prefix, but not in `skip`)
    before reading any data: an unexpected entry may be gigabytes.
    """
    have = {n[len(prefix):] for n in archive.entries if n.startswith(prefix) and n not in skip}
    missing, extra = sorted(set(expected) - have), sorted(have - set(expected))
    if missing or extra:
        raise ModelFileError(f"{source or archive.path}: arrays do not match the architecture "
                             f"(missing: {_short(missing) if missing else 'none'}; "
                             f"unexpected: {_short(extra) if extra else 'none'})")
    return {name: archive.array(prefix + name, shape, "f", owner) for name, (shape, owner) in expected.items()}


def read_model_file(path):
    """Everything in a model file, checked: (layers, {name: array}, meta dict).

    The layers are built (without random weights) but not yet loaded; see tinycnn.load.
    """
    with Archive(path) as archive:
        if "__architecture__" not in archive.entries:
            raise ModelFileError(f"{path}: no __architecture__ entry; not a tinycnn model file")
        arch = archive.json("__architecture__")
        if not isinstance(arch, dict) or arch.get("format") != FORMAT:
            got = arch.get("format") if isinstance(arch, dict) else arch
            raise ModelFileError(f"{path}: unknown format {_short(got)}, expected {FORMAT}")
        if "layers" not in arch:
            raise ModelFileError(f"{path}: the architecture has no \"layers\"")
        meta = arch.get("meta", {})
        if not isinstance(meta, dict):
            raise ModelFileError(f"{path}: the architecture's \"meta\" must be an object")
        layers = build_layers(arch["layers"], str(path))
        arrays = read_arrays(archive, expected_arrays(layers), skip={"__architecture__"}, source=path)
    return layers, arrays, meta
