"""The user's own model: a function that builds an ``nn.Module``, named by a reference.

A reference is ``FILE.py:FUNCTION`` (a Python file, loaded by path), ``package.module:FUNCTION`` (an importable
module) or, from Python, ``python:NAME`` for a callable registered in this process (:func:`register_callable`).
The function may take ``act_layer`` (a callable returning an activation module, timm-style: it accepts and
ignores ``inplace=`` and other keywords), ``input_shape`` (one example's shape) and ``n_outputs`` (also spelled
``num_outputs`` or ``num_classes``); it returns the model.  With ``act_layer`` the model is built once per run
with the run's activation; without it, it is built and then :func:`actlab.nn.swap.swap` replaces its activation
modules.  The model is built under ``torch.manual_seed(seed)`` (the torch default inits are then the run's), with
torch's global random state restored after.

Every problem is an :class:`ActlabError` naming it: a missing file, a file without the function (with near
names), a function that raises (its message, not a traceback), a function that returns no ``nn.Module``.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from actlab.errors import ActlabError, suggest

__all__ = ["Builder", "is_reference", "load_builder", "source_identity", "register_callable", "build_user",
           "OUTPUT_NAMES"]

OUTPUT_NAMES = ("n_outputs", "num_outputs", "num_classes")  # the parameter that receives the output units
_CALLABLES: dict[str, Callable[..., nn.Module]] = {}
_LOADED: dict[str, Any] = {}  # resolved file path + its hash → the loaded module


def is_reference(model: str) -> bool:
    """True when ``model`` names a user function (``FILE.py:FUNCTION``, ``module:FUNCTION``, ``python:NAME``)."""
    text = str(model)
    return ":" in text and bool(text.rpartition(":")[2].strip()) or text.startswith("python:")


def _split(reference: str) -> tuple[str, str]:
    location, _, function = str(reference).rpartition(":")
    location, function = location.strip(), function.strip()
    if not location or not function:
        raise ActlabError(f"--model {reference!r}: give FILE.py:FUNCTION or package.module:FUNCTION")
    if not function.isidentifier():
        raise ActlabError(f"--model {reference!r}: {function!r} is not a Python function name")
    return location, function


def _is_file(location: str) -> bool:
    return location.endswith(".py") or "/" in location or "\\" in location


def register_callable(function: Callable[..., nn.Module]) -> str:
    """A ``python:NAME`` reference for ``function`` (this process only; NAME carries a hash of its code)."""
    if not callable(function):
        raise ActlabError(f"the model must be a function that builds an nn.Module, got {type(function).__name__}")
    name = getattr(function, "__qualname__", None) or type(function).__name__
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    reference = f"python:{name}_{_code_hash(function)[:10]}"
    _CALLABLES[reference] = function
    return reference


def _code_hash(function: Any) -> str:
    """A hash of what the function computes: the file of its module where there is one (the classes it builds
    live there too), and its own source (or, without source, its code object)."""
    digest = hashlib.sha256()
    module = sys.modules.get(getattr(function, "__module__", None) or "")
    path = getattr(module, "__file__", None)
    if path and Path(path).is_file():
        digest.update(Path(path).read_bytes())
    try:
        digest.update(inspect.getsource(function).encode())
    except (OSError, TypeError):
        code = getattr(function, "__code__", None)
        digest.update(repr((code.co_code, code.co_consts, code.co_names) if code is not None else function).encode())
    return digest.hexdigest()


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_identity(reference: str) -> dict[str, str]:
    """What the results depend on: the file (resolved path) and its SHA-256, or the module's file, or the code."""
    if reference.startswith("python:"):
        function = _registered(reference)
        return {"reference": reference, "function": getattr(function, "__qualname__", ""),
                "sha256": _code_hash(function)}
    location, function = _split(reference)
    if _is_file(location):
        path = _file(location)
        return {"reference": reference, "path": str(path), "function": function, "sha256": _file_hash(path)}
    module = _import(location, reference)
    found = getattr(module, "__file__", None)
    digest = _file_hash(Path(found)) if found and Path(found).is_file() else _code_hash(_pick(module, function,
                                                                                             reference))
    return {"reference": reference, "module": location, "function": function, "sha256": digest}


def _registered(reference: str) -> Callable[..., nn.Module]:
    try:
        return _CALLABLES[reference]
    except KeyError:
        raise ActlabError(f"model {reference!r} is a Python function of another process; pass the function "
                          "again (actlab.compare(build, ...)) or name it as FILE.py:FUNCTION") from None


def _file(location: str) -> Path:
    path = Path(location).expanduser()
    if not path.exists():
        raise ActlabError(f"model file {location} not found")
    if not path.is_file():
        raise ActlabError(f"model file {location} is not a file")
    if path.suffix != ".py":
        raise ActlabError(f"model file {location} is not a Python file (.py)")
    return path.resolve()


def _import(name: str, reference: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name and name.startswith(error.name):
            raise ActlabError(f"--model {reference!r}: no module named {name!r} (a file path needs .py)") from None
        raise ActlabError(f"--model {reference!r}: importing {name} failed: {error}") from None
    except Exception as error:  # noqa: BLE001 — the user's module raised while importing: its message, no traceback
        raise ActlabError(f"--model {reference!r}: importing {name} raised {type(error).__name__}: {error}") from None


def _load_file(path: Path, reference: str) -> Any:
    key = f"{path}:{_file_hash(path)}"
    if key in _LOADED:
        return _LOADED[key]
    name = "actlab_user_" + hashlib.sha256(key.encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ActlabError(f"model file {path} cannot be loaded as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        sys.modules.pop(name, None)
        raise ActlabError(f"model file {path}, line {error.lineno}: syntax error: {error.msg}") from None
    except Exception as error:  # noqa: BLE001 — the user's file raised at import: its message, no traceback
        sys.modules.pop(name, None)
        raise ActlabError(f"model file {path} raised {type(error).__name__} while loading: {error}") from None
    _LOADED[key] = module
    return module


def _pick(module: Any, function: str, reference: str) -> Callable[..., nn.Module]:
    found = getattr(module, function, None)
    if found is None:
        names = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                 and getattr(v, "__module__", None) == module.__name__]
        near = suggest(function, names)
        hint = f"; did you mean {' or '.join(near)}?" if near else (f" (it defines {', '.join(sorted(names))})"
                                                                   if names else "")
        raise ActlabError(f"--model {reference!r}: no function {function!r} in {getattr(module, '__file__', None) or module.__name__}{hint}")
    if not callable(found):
        raise ActlabError(f"--model {reference!r}: {function!r} is a {type(found).__name__}, not a function")
    return found


def load_builder(reference: str) -> Callable[..., nn.Module]:
    """The function a reference names (loaded or imported once per file content)."""
    if reference.startswith("python:"):
        return _registered(reference)
    location, function = _split(reference)
    module = _load_file(_file(location), reference) if _is_file(location) else _import(location, reference)
    return _pick(module, function, reference)


@dataclass(frozen=True)
class Builder:
    """A loaded model function and what it takes."""

    reference: str
    function: Callable[..., nn.Module]
    takes_act_layer: bool
    shape_name: str | None  # "input_shape" when it takes it
    outputs_name: str | None  # one of OUTPUT_NAMES when it takes it

    @classmethod
    def of(cls, reference: str) -> Builder:
        function = load_builder(reference)
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):
            parameters = {}
        names = set(parameters)
        return cls(reference, function, "act_layer" in names, "input_shape" if "input_shape" in names else None,
                   next((n for n in OUTPUT_NAMES if n in names), None))

    @property
    def name(self) -> str:
        return getattr(self.function, "__name__", self.reference)

    def call(self, act_layer: Callable[..., nn.Module] | None, input_shape: Sequence[int], n_outputs: int
             ) -> nn.Module:
        """The model, built; every exception the function raises becomes an ActlabError with its message."""
        kwargs: dict[str, Any] = {}
        if self.takes_act_layer and act_layer is not None:
            kwargs["act_layer"] = act_layer
        if self.shape_name:
            kwargs[self.shape_name] = tuple(int(s) for s in input_shape)
        if self.outputs_name:
            kwargs[self.outputs_name] = int(n_outputs)
        try:
            model = self.function(**kwargs)
        except Exception as error:  # noqa: BLE001 — the user's code failed: its message, not a traceback
            raise ActlabError(f"model function {self.reference} raised {type(error).__name__}: {error}") from None
        if not isinstance(model, nn.Module):
            raise ActlabError(f"model function {self.reference} returned a {type(model).__name__}, not an "
                              "nn.Module")
        return model


def _act_layer(spec: Any, params: Mapping[str, Any]) -> Callable[..., nn.Module]:
    from actlab.nn import create

    def act_layer(*args: Any, **kwargs: Any) -> nn.Module:  # timm passes inplace=True; a module has no place
        return create(spec, **dict(params))

    return act_layer


def build_user(reference: str, spec: Any, input_shape: Sequence[int], n_outputs: int, seed: int,
               params: Mapping[str, Any] | None = None) -> nn.Module:
    """The user's model for one run: built with ``act_layer`` (or built, then swapped) under the run's seed."""
    from actlab.nn.swap import swap

    builder = Builder.of(reference)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        act_layer = _act_layer(spec, params or {})
        model = builder.call(act_layer if builder.takes_act_layer else None, input_shape, n_outputs)
        if not builder.takes_act_layer:
            swap(model, act_layer, trace=False)
    return model
