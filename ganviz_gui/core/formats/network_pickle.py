"""Reading StyleGAN2-ADA and StyleGAN3 network pickles without running anything from them.

NVIDIA's training code saves its networks with `torch_utils.persistence`: every network class
travels with the full Python source of its module, and a normal unpickle executes that source
to rebuild the objects. Here a restricted unpickler admits only the handful of names these
snapshots use. Each persistent object becomes a `PersistentRecord`: the class name, the module
source kept as text (identified by digest, see `stylegan_sources.py`) and the object's pickled
attributes. Every tensor goes through torch's weights-only loader. Any other name the file asks
for is refused, naming it: a file that only looks like a snapshot runs nothing.
"""

from __future__ import annotations

import hashlib
import io
import math
import pickle
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganviz_gui.core.errors import CheckpointError

PICKLE_MARKER = b"torch_utils.persistence"
# A snapshot names the persistence module within its first few hundred bytes.
SNIFF_BYTES = 4096
# Refuse before reading a file no snapshot would be (the 1024 px FFHQ G+D+G_ema is ~380 MB).
MAX_PICKLE_BYTES = 4 * 1024**3
MAX_RECORDS = 100_000  # a 1024 px G + D + G_ema is a few hundred
MAX_DEPTH = 200  # nesting of values (a module tree is about 6 deep)


@dataclass
class PersistentRecord:
    """One object saved by `torch_utils.persistence`: data only, its source never executed."""

    class_name: str
    # NVIDIA's code, kept as text to recognise it: never shown (repr), never run.
    module_source: str = field(repr=False)
    state: dict[str, Any] = field(repr=False)
    source_sha256: str = ""

    def __setstate__(self, state: Any) -> None:
        raise pickle.UnpicklingError("a pickle that sets attributes of a persistent object")

    def __reduce__(self) -> tuple[Any, ...]:  # copies are made from the fields, not by BUILD
        return (
            PersistentRecord,
            (self.class_name, self.module_source, self.state, self.source_sha256),
        )

    @property
    def init_kwargs(self) -> dict[str, Any]:
        value = self.state.get("_init_kwargs")
        return dict(value) if isinstance(value, dict) else {}

    @property
    def init_args(self) -> tuple[Any, ...]:
        value = self.state.get("_init_args")
        return tuple(value) if isinstance(value, (tuple, list)) else ()

    def attribute(self, name: str, default: Any = None) -> Any:
        return self.state.get(name, default)

    def children(self) -> dict[str, Any]:
        modules = self.state.get("_modules")
        return dict(modules) if isinstance(modules, dict) else {}

    def child(self, name: str) -> PersistentRecord | None:
        value = self.children().get(name)
        return value if isinstance(value, PersistentRecord) else None

    def tensors(self, prefix: str = "") -> dict[str, torch.Tensor]:
        """The object's parameters and persistent buffers, named as `state_dict()` names them."""
        found: dict[str, torch.Tensor] = {}
        transient = self.state.get("_non_persistent_buffers_set") or set()
        for part in ("_parameters", "_buffers"):
            values = self.state.get(part)
            if not isinstance(values, dict):
                continue
            for name, tensor in values.items():
                if isinstance(tensor, torch.Tensor) and name not in transient:
                    found[prefix + name] = tensor
        for name, module in self.children().items():
            if isinstance(module, PersistentRecord):
                found.update(module.tensors(f"{prefix}{name}."))
        return found

    def records(self) -> list[PersistentRecord]:
        """This record and every record under it."""
        found = [self]
        for module in self.children().values():
            if isinstance(module, PersistentRecord):
                found.extend(module.records())
        return found


def is_network_pickle(head: bytes) -> bool:
    """A pickle (protocol 2+) that names `torch_utils.persistence` near its start."""
    return head[:1] == b"\x80" and PICKLE_MARKER in head[:SNIFF_BYTES]


def read_network_pickle(path: str | Path) -> dict[str, Any]:
    """The snapshot's top-level dict (`G`, `D`, `G_ema`, ... as PersistentRecords)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_PICKLE_BYTES:
            raise CheckpointError(
                f"{path}: {size / 1024**3:.1f} GB, larger than any network snapshot GANViz reads"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TypedStorage deprecation, from torch's own loader
            loaded = _resolve(_SnapshotUnpickler(io.BytesIO(raw), path).load())
            _check_tree(loaded)
    except CheckpointError:
        raise
    except pickle.UnpicklingError as exc:  # one of the stand-ins refused what it was given
        raise CheckpointError(
            f"{path}: refused: {exc}; GANViz never runs code from a file"
        ) from None
    except Exception as exc:  # a damaged pickle fails in many ways: all mean the same here
        raise CheckpointError(
            f"{path}: a StyleGAN network pickle, but damaged or truncated ({type(exc).__name__})"
        ) from None
    if not isinstance(loaded, dict):
        raise CheckpointError(
            f"{path}: a pickle naming torch_utils.persistence, but not a snapshot"
        )
    return loaded


# ---------------------------------------------------------------------- the unpickler
# Everything a pickle can reach is one of the stand-ins below, and a pickle's BUILD opcode sets
# attributes on whatever it is given (a class, a function, an instance). So the stand-in
# classes are sealed (no attribute can be set on them), their instances refuse BUILD unless
# filling one in is their job, and functions are reached through `_Admitted` wrappers.
class _Sealed(type):
    def __setattr__(cls, name: str, value: Any) -> None:
        raise pickle.UnpicklingError("a pickle that changes a class")


class AttributeBag(dict, metaclass=_Sealed):
    """Stands in for `dnnlib.util.EasyDict`: a plain dict, nothing more."""

    __slots__ = ()

    def __setstate__(self, state: Any) -> None:
        raise pickle.UnpicklingError("a pickle that sets attributes of a dict")


class _Mapping(OrderedDict, metaclass=_Sealed):
    """Stands in for `collections.OrderedDict` (its instances can carry no attributes)."""

    __slots__ = ()

    def __setstate__(self, state: Any) -> None:
        raise pickle.UnpicklingError("a pickle that sets attributes of a dict")


class _Admitted:
    """A function a pickle may call, and nothing else: no attribute of it can be set."""

    __slots__ = ("function",)
    function: Any

    def __init__(self, function: Any):
        object.__setattr__(self, "function", function)

    def __call__(self, *args: Any) -> Any:
        return self.function(*args)

    def __setattr__(self, name: str, value: Any) -> None:
        raise pickle.UnpicklingError("a pickle that changes a function")

    def __setstate__(self, state: Any) -> None:
        raise pickle.UnpicklingError("a pickle that changes a function")


class _ArrayBuilder(metaclass=_Sealed):
    """Stands in for a numpy array while the pickle builds it; raw bytes only, never objects."""

    def __init__(self) -> None:
        self.array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if not (isinstance(state, tuple) and len(state) == 5):
            raise pickle.UnpicklingError("a numpy array with an unknown layout")
        _, shape, dtype, fortran, data = state
        dtype = _plain_dtype(dtype)
        if not isinstance(data, (bytes, bytearray)):
            raise pickle.UnpicklingError("a numpy array of Python objects")
        if not (isinstance(shape, tuple) and all(isinstance(s, int) and s >= 0 for s in shape)):
            raise pickle.UnpicklingError("a numpy array with an invalid shape")
        flat = np.frombuffer(bytes(data), dtype=dtype)
        if flat.size != math.prod(shape):  # checked before numpy sees the shape
            raise pickle.UnpicklingError("a numpy array whose data does not fit its shape")
        self.array = flat.reshape(shape, order="F" if fortran else "C").copy()


class _DtypeBuilder(metaclass=_Sealed):
    """Stands in for `numpy.dtype(...)`: only plain numeric types, byte order from the state."""

    def __init__(self, spec: Any, align: Any = False, copy: Any = False) -> None:
        if not isinstance(spec, str) or len(spec) > 4:
            raise pickle.UnpicklingError(f"an unsupported numpy dtype {spec!r}")
        self.spec, self.order = spec, "="
        _plain_dtype(self)  # refused now, not when first used

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">", "|", "="):
            self.order = state[1]

    @property
    def dtype(self) -> np.dtype:
        return _plain_dtype(self)


def _plain_dtype(value: Any) -> np.dtype:
    if isinstance(value, _DtypeBuilder) and hasattr(value, "spec"):
        order = "" if value.order in ("|", "=") else value.order
        try:
            dtype = np.dtype(order + value.spec)
        except TypeError:
            raise pickle.UnpicklingError(f"an unsupported numpy dtype {value.spec!r}") from None
    else:
        raise pickle.UnpicklingError("a numpy value without a plain dtype")
    if dtype.hasobject or dtype.kind not in "biufc":
        raise pickle.UnpicklingError(f"a numpy dtype {dtype} that is not a number")
    return dtype


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    if not isinstance(data, (bytes, bytearray)):
        raise pickle.UnpicklingError("a numpy scalar of a Python object")
    return np.frombuffer(bytes(data), dtype=_plain_dtype(dtype))[0].item()


def _numpy_reconstruct(cls: Any, shape: Any, dtype: Any) -> _ArrayBuilder:
    if cls is not _NDARRAY:
        raise pickle.UnpicklingError("a numpy object that is not an array")
    return _ArrayBuilder()


_NDARRAY = object()  # `numpy.ndarray`, only ever an argument to _numpy_reconstruct


def _load_storage(data: Any) -> Any:
    """`torch.storage._load_from_bytes`: a legacy torch.save blob of one storage."""
    if not isinstance(data, (bytes, bytearray)):
        raise pickle.UnpicklingError("a tensor storage that is not bytes")
    storage = torch.load(io.BytesIO(bytes(data)), weights_only=True, map_location="cpu")
    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise pickle.UnpicklingError("a tensor storage blob that holds something else")
    return storage


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, *rest: Any) -> Any:
    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise pickle.UnpicklingError("a tensor without a storage")
    hooks = rest[1] if len(rest) > 1 else None
    if hooks:  # backward hooks would be functions: a snapshot has none
        raise pickle.UnpicklingError("a tensor with backward hooks")
    tensor = torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())
    if tensor.numel() * tensor.element_size() > tensor.untyped_storage().nbytes():
        # A view larger than its data (stride 0): what a snapshot never holds, and every
        # later step (a NaN check, a copy) would allocate all of it.
        raise pickle.UnpicklingError("a tensor larger than its stored data")
    return tensor


def _rebuild_parameter(data: Any, requires_grad: Any = False, hooks: Any = None) -> Any:
    if not isinstance(data, torch.Tensor) or hooks:
        raise pickle.UnpicklingError("a parameter that is not a plain tensor")
    return data  # a plain tensor: the records are data, GANViz builds its own modules


def _builtin_set(items: Any = ()) -> set[str]:
    """`builtins.set` as protocol 2 and 3 pickles write one: a module's set of buffer names."""
    values = list(items) if isinstance(items, (list, tuple)) else None
    if values is None or not all(isinstance(v, str) for v in values):
        raise pickle.UnpicklingError("a set of anything but names")
    return set(values)


class _RecordMaker:
    """`_reconstruct_persistent_obj`: a record of the object, its source digested once per
    distinct text (the pickle shares one text among a module's classes)."""

    def __init__(self) -> None:
        self.digests: dict[int, tuple[str, str]] = {}
        self.count = 0

    def __call__(self, meta: Any) -> PersistentRecord:
        if not (isinstance(meta, dict) and meta.get("type") == "class"):
            raise pickle.UnpicklingError("a persistent object that is not a class instance")
        name, source, state = meta.get("class_name"), meta.get("module_src"), meta.get("state")
        if not (isinstance(name, str) and isinstance(source, str) and isinstance(state, dict)):
            raise pickle.UnpicklingError("a persistent object without class name, source or state")
        self.count += 1
        if self.count > MAX_RECORDS:
            raise pickle.UnpicklingError(f"more than {MAX_RECORDS:,} persistent objects")
        if id(source) not in self.digests:  # the text itself is kept, so its id stays its own
            digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
            self.digests[id(source)] = (source, digest)
        text, digest = self.digests[id(source)]
        return PersistentRecord(name[:200], text, dict(state), digest)


# (module, name) -> what stands in for it. Nothing else is ever imported.
_ADMITTED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): _Mapping,
    ("torch._utils", "_rebuild_tensor_v2"): _Admitted(_rebuild_tensor),
    ("torch._utils", "_rebuild_parameter"): _Admitted(_rebuild_parameter),
    ("torch.storage", "_load_from_bytes"): _Admitted(_load_storage),
    ("dnnlib.util", "EasyDict"): AttributeBag,
    ("numpy", "dtype"): _DtypeBuilder,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy.core.multiarray", "scalar"): _Admitted(_numpy_scalar),
    ("numpy._core.multiarray", "scalar"): _Admitted(_numpy_scalar),
    ("numpy.core.multiarray", "_reconstruct"): _Admitted(_numpy_reconstruct),
    ("numpy._core.multiarray", "_reconstruct"): _Admitted(_numpy_reconstruct),
    ("builtins", "set"): _Admitted(_builtin_set),  # protocols 2 and 3 (Python 3.7's default)
    ("__builtin__", "set"): _Admitted(_builtin_set),
}
RECORD_MAKER = ("torch_utils.persistence", "_reconstruct_persistent_obj")


class _SnapshotUnpickler(pickle.Unpickler):
    def __init__(self, stream: io.BytesIO, path: Path):
        super().__init__(stream)
        self.path = path
        self.records = _Admitted(_RecordMaker())

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == RECORD_MAKER:
            return self.records
        admitted = _ADMITTED.get((module, name))
        if admitted is None:
            raise CheckpointError(
                f"{self.path}: refused: this pickle asks to import {module[:100]}.{name[:100]}, "
                "which no StyleGAN snapshot needs; GANViz never runs code from a file"
            )
        return admitted

    def persistent_load(self, pid: Any) -> Any:
        raise CheckpointError(f"{self.path}: refused: a pickle with external references")


def _resolve(value: Any, seen: dict[int, Any] | None = None, depth: int = 0) -> Any:
    """Replace the stand-ins by what they stand for (arrays, dtypes), through the whole tree;
    every container is visited once, however often the pickle refers to it."""
    seen = {} if seen is None else seen
    if id(value) in seen:
        return seen[id(value)]
    if depth > MAX_DEPTH:
        raise pickle.UnpicklingError(f"values nested more than {MAX_DEPTH} deep")
    depth += 1
    if isinstance(value, _ArrayBuilder):
        if value.array is None:
            raise CheckpointError("a numpy array in the pickle was never filled")
        return value.array
    if isinstance(value, _DtypeBuilder):
        return value.dtype
    if isinstance(value, PersistentRecord):
        seen[id(value)] = value
        object.__setattr__(value, "state", _resolve(value.state, seen, depth))
        return value
    if isinstance(value, dict):
        seen[id(value)] = value
        for key in list(value):
            value[key] = _resolve(value[key], seen, depth)
        return value
    if isinstance(value, list):
        seen[id(value)] = value
        value[:] = [_resolve(v, seen, depth) for v in value]
        return value
    if isinstance(value, tuple):
        seen[id(value)] = resolved = tuple(_resolve(v, seen, depth) for v in value)
        return resolved
    return value


def _check_tree(top: Any) -> None:
    """The networks' records form a tree, as modules do: none is its own part, none is
    reached twice (which would make walking them cost twice per level)."""
    reached: set[int] = set()
    stack = [(v, 0) for v in (top.values() if isinstance(top, dict) else [])]
    while stack:
        value, depth = stack.pop()
        if not isinstance(value, PersistentRecord):
            continue
        if id(value) in reached or depth > MAX_DEPTH:
            raise pickle.UnpicklingError("networks whose parts are not a tree of modules")
        reached.add(id(value))
        if not isinstance(value.state, dict):
            raise pickle.UnpicklingError("a persistent object whose state is not a dict")
        stack.extend((child, depth + 1) for child in value.children().values())
