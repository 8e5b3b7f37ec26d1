"""Tabular models loaded in their own library: scikit-learn (skops or pickle), XGBoost, LightGBM.

`load_native_model` turns an artifact's bytes into a model object; `predict` runs it on one
2-D input and returns its outputs by role, the names the ONNX converters give them: `label`
and `probabilities` for a classifier, `variable` for a regressor. Conversion compares these
with the converted model's outputs (spec/registry.md, "Conversion"). The libraries are
imported when a model is first loaded: a server that never converts does not pay for them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from lepton.type.v1 import model_format_pb2
from lepton_server.registry.model_signatures import (
    LABEL,
    PROBABILITIES,
    VARIABLE,
    booster_classes,
    booster_outputs,
)
from lepton_server.runtime.errors import FailedPrecondition

ModelFormat = model_format_pb2.ModelFormat
SKLEARN, XGBOOST, LIGHTGBM = "sklearn", "xgboost", "lightgbm"
_TRUSTED_PACKAGES = frozenset({"sklearn", "numpy"})


def unsupported(message: str) -> FailedPrecondition:
    """The failure of a conversion the server cannot do (REG-052)."""
    return FailedPrecondition(reason="CONVERSION_UNSUPPORTED", message=message)


@dataclass(frozen=True)
class NativeModel:
    """A loaded model and the library that runs it (SKLEARN, XGBOOST or LIGHTGBM)."""

    model: Any
    library: str

    @property
    def classes(self) -> int:
        """How many classes a classifier has; 0 for a regressor."""
        if self.library == SKLEARN:
            classes = getattr(self.model, "classes_", None)
            return 0 if classes is None else len(classes)
        return booster_classes(self.model)

    @property
    def roles(self) -> list[str]:
        """The outputs `predict` returns, in order."""
        if self.library != SKLEARN:
            return booster_outputs(self.model)
        if not self.classes:
            return [VARIABLE]
        return [LABEL, PROBABILITIES] if hasattr(self.model, "predict_proba") else [LABEL]


def load_native_model(data: bytes, model_format: int, *, trust_pickle: bool) -> NativeModel:
    """The model an artifact holds. PICKLE runs code from the file: only with `trust_pickle`.

    Raises FailedPrecondition CONVERSION_UNSUPPORTED for another format, an untrusted pickle,
    bytes its library cannot read, or an object that is not a model of these libraries.
    """
    try:
        if model_format == ModelFormat.MODEL_FORMAT_SKOPS:
            return _sklearn(_load_skops(data))
        if model_format == ModelFormat.MODEL_FORMAT_PICKLE:
            if not trust_pickle:
                raise unsupported("this server does not load PICKLE models")
            import joblib  # noqa: PLC0415 - loaded only for the formats that need it

            return _classify(joblib.load(io.BytesIO(data)))
        if model_format == ModelFormat.MODEL_FORMAT_XGBOOST:
            import xgboost  # noqa: PLC0415

            booster = xgboost.Booster()
            booster.load_model(bytearray(data))
            return NativeModel(_unnamed(booster), XGBOOST)
        if model_format == ModelFormat.MODEL_FORMAT_LIGHTGBM:
            import lightgbm  # noqa: PLC0415

            return NativeModel(lightgbm.Booster(model_str=data.decode()), LIGHTGBM)
    except FailedPrecondition:
        raise
    except Exception as error:  # any library error means "cannot read it"
        raise unsupported(
            f"cannot load the {ModelFormat.Name(model_format)} model: {error}"
        ) from error
    raise unsupported(f"no converter to ONNX for {ModelFormat.Name(model_format)}")


def _load_skops(data: bytes) -> Any:
    import skops.io  # noqa: PLC0415

    untrusted = skops.io.get_untrusted_types(data=data)
    # skops refuses types outside its defaults unless the caller names them: a server
    # converting models of unknown origin trusts scikit-learn's and numpy's own types (a
    # forest's trees, for one), and nothing else.
    foreign = [name for name in untrusted if name.split(".", 1)[0] not in _TRUSTED_PACKAGES]
    if foreign:
        raise unsupported(f"the skops file holds types the server does not trust: {foreign}")
    return skops.io.loads(data, trusted=untrusted)


def _unnamed(booster: Any) -> Any:
    """The booster without the column names of a DataFrame it was trained on: onnxmltools
    accepts only its own "f0", "f1", ... and the sample rows are plain arrays. The names stay
    in the version's signature (`feature_names`)."""
    booster.feature_names = None
    return booster


def _classify(model: Any) -> NativeModel:
    module = type(model).__module__
    # The scikit-learn API of XGBoost and LightGBM (XGBClassifier, LGBMRegressor, ...) wraps a
    # booster, which onnxmltools converts; skl2onnx has no converter for the wrappers.
    if module.startswith("xgboost") and hasattr(model, "get_booster"):
        return NativeModel(_unnamed(model.get_booster()), XGBOOST)
    if module.startswith("lightgbm") and hasattr(model, "booster_"):
        return NativeModel(model.booster_, LIGHTGBM)
    if module.startswith("xgboost") and hasattr(model, "num_features"):
        return NativeModel(_unnamed(model), XGBOOST)
    if module.startswith("lightgbm") and hasattr(model, "num_feature"):
        return NativeModel(model, LIGHTGBM)
    return _sklearn(model)


def _sklearn(model: Any) -> NativeModel:
    from sklearn.base import BaseEstimator  # noqa: PLC0415

    if not isinstance(model, BaseEstimator) or not hasattr(model, "predict"):
        raise unsupported(f"{type(model).__name__} is not a scikit-learn estimator")
    return NativeModel(model, SKLEARN)


def predict(native: NativeModel, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The model's outputs on `rows` (2-D) by role, as `roles` lists them."""
    if native.library == SKLEARN:
        if native.classes:
            outputs = {LABEL: np.asarray(native.model.predict(rows))}
            if PROBABILITIES in native.roles:
                outputs[PROBABILITIES] = np.asarray(native.model.predict_proba(rows))
            return outputs
        return {VARIABLE: np.asarray(native.model.predict(rows))}
    if native.library == XGBOOST:
        import xgboost  # noqa: PLC0415

        raw = native.model.predict(xgboost.DMatrix(rows))
        if native.roles == [LABEL]:
            return {LABEL: raw.astype(np.int64)}
    else:
        raw = native.model.predict(rows)
    if native.classes == 2:
        return _class_outputs(np.column_stack([1 - raw, raw]))
    if native.classes:
        return _class_outputs(np.asarray(raw))
    return {VARIABLE: np.asarray(raw)}


def _class_outputs(probabilities: np.ndarray) -> dict[str, np.ndarray]:
    return {
        LABEL: probabilities.argmax(axis=1).astype(np.int64),
        PROBABILITIES: probabilities,
    }
