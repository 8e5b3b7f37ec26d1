"""The standard library trainers of spec/training.md, "Trainers": scikit-learn, XGBoost, LightGBM.

A trainer's hyperparameters are constructor arguments of its estimator, under the same names,
with the library's own defaults: read from a default instance's `get_params()`, so they follow
the installed version. Where the library's default is None (no depth limit, an unseeded random
generator), a value outside the argument's useful range stands for None (`none_as`), since a
HyperparameterValue cannot be null; the description says which. XGBoost's scikit-learn wrapper
reports None for every default and resolves it inside the booster, so its defaults are written
here (the booster's own); the tests compare them with a fitted booster's configuration.
Ranges are inclusive (HyperparameterSpec.min_value); a bound the library keeps open, such as
C > 0, is declared as the smallest positive double.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import math
from dataclasses import dataclass

from lepton.training.v1 import trainer_pb2
from lepton.type.v1 import model_format_pb2
from lepton_server.training.hyperparameters import (
    HyperparameterValue,
    JsonValue,
    declare,
    keyword_arguments,
)

T = trainer_pb2.HyperparameterType
ModelFormat = model_format_pb2.ModelFormat
INT64, DOUBLE = T.HYPERPARAMETER_TYPE_INT64, T.HYPERPARAMETER_TYPE_DOUBLE
BOOL, STRING = T.HYPERPARAMETER_TYPE_BOOL, T.HYPERPARAMETER_TYPE_STRING
# The smallest double above 0: the inclusive form of "positive".
POSITIVE = math.ulp(0.0)
# What the trainers report, per dataset role (TRN-045): CheckpointPolicy.best_metric is one.
_ROLES = ("train", "validation", "test")
CLASSIFICATION_METRICS = tuple(f"{role}/{m}" for role in _ROLES for m in ("accuracy", "log_loss"))
REGRESSION_METRICS = tuple(f"{role}/{m}" for role in _ROLES for m in ("rmse", "r2"))


@dataclass(frozen=True)
class Argument:
    """One constructor argument offered as a hyperparameter."""

    name: str
    type: int
    description: str
    minimum: int | float | None = None
    maximum: int | float | None = None
    allowed: tuple[str, ...] = ()
    # The value that stands for the library's None; the description says what None means.
    none_as: int | float | str | None = None
    # Only where get_params() reports None for a default the library resolves internally.
    default: JsonValue | None = None


@dataclass(frozen=True)
class LibraryTrainer:
    """A standard trainer: its ID, its estimator ("module:Class") and the arguments it offers."""

    id: str
    description: str
    task: str
    estimator: str
    native_format: int
    arguments: tuple[Argument, ...]

    @property
    def framework(self) -> str:
        """The framework segment of the ID: "sklearn", "xgboost" or "lightgbm"."""
        return self.id.split(".", 1)[0]

    @property
    def package(self) -> str:
        """The top-level import package of the estimator, e.g. "sklearn"."""
        return self.estimator.split(":", 1)[0].split(".", 1)[0]

    def estimator_class(self) -> type:
        """The estimator class; ImportError when its library is not installed."""
        return _estimator_class(self.estimator)

    def available(self) -> bool:
        """True when the library imports on this server."""
        try:
            self.estimator_class()
        except ImportError:
            return False
        return True

    def default_of(self, argument: Argument) -> JsonValue:
        """The declared default: the library's, with `none_as` for its None."""
        if argument.default is not None:
            return argument.default
        value = _library_defaults(self.estimator)[argument.name]
        if value is None:
            if argument.none_as is None:
                raise ValueError(f"{self.id}: {argument.name} defaults to None without none_as")
            return argument.none_as
        if argument.type == DOUBLE:
            return float(value)
        return value

    def info(self) -> trainer_pb2.TrainerInfo:
        """The TrainerInfo ListTrainers reports."""
        classifier = self.task == "classification"
        return trainer_pb2.TrainerInfo(
            id=self.id,
            description=self.description,
            task=self.task,
            hyperparameters=[
                declare(
                    a.name,
                    a.type,
                    self.default_of(a),
                    a.description,
                    minimum=a.minimum,
                    maximum=a.maximum,
                    allowed=a.allowed,
                )
                for a in self.arguments
            ],
            model_formats=[self.native_format, ModelFormat.MODEL_FORMAT_ONNX],
            requires_label_column=True,
            supports_checkpoints=False,
            max_worker_count=1,
            supports_accelerators=False,
            metric_names=CLASSIFICATION_METRICS if classifier else REGRESSION_METRICS,
            framework=self.framework,
            framework_version=framework_version(self.package),
        )

    def estimator_kwargs(self, resolved: dict[str, HyperparameterValue]) -> dict[str, object]:
        """The estimator's constructor arguments for resolved hyperparameters."""
        none_as = {a.name: a.none_as for a in self.arguments if a.none_as is not None}
        return keyword_arguments(resolved, none_as)


@functools.cache
def _library_defaults(estimator: str) -> dict[str, object]:
    return _estimator_class(estimator)().get_params()


def _estimator_class(estimator: str) -> type:
    module, name = estimator.split(":")
    return getattr(importlib.import_module(module), name)


@functools.cache
def framework_version(package: str) -> str:
    """The installed version of the distribution that provides import package `package`."""
    distributions = importlib.metadata.packages_distributions().get(package, [package])
    return importlib.metadata.version(distributions[0])


def _random_state(library: str, maximum: int) -> Argument:
    return Argument(
        "random_state",
        INT64,
        f"Seed of the random number generator; -1 means None ({library} seeds it unpredictably)",
        -1,
        maximum,
        none_as=-1,
    )


# scikit-learn's trees take a depth of at least 1 or None.
MAX_DEPTH = Argument(
    "max_depth", INT64, "Maximum depth of a tree, at least 1; 0 means None (no limit)", 0, none_as=0
)
N_ESTIMATORS = Argument("n_estimators", INT64, "Number of trees", 1)
MIN_SAMPLES_LEAF = Argument("min_samples_leaf", INT64, "Minimum samples in a leaf", 1)
FIT_INTERCEPT = Argument("fit_intercept", BOOL, "Fit an intercept term")

LOGISTIC_REGRESSION = LibraryTrainer(
    id="sklearn.logistic_regression",
    description="Logistic regression (scikit-learn LogisticRegression)",
    task="classification",
    estimator="sklearn.linear_model:LogisticRegression",
    native_format=ModelFormat.MODEL_FORMAT_SKOPS,
    arguments=(
        Argument("C", DOUBLE, "Inverse of regularization strength; positive", POSITIVE),
        Argument(
            "l1_ratio",
            DOUBLE,
            "Elastic-net mixing: 0 is an L2 penalty, 1 an L1 penalty; above 0 needs solver"
            " saga (or liblinear for 1)",
            0.0,
            1.0,
        ),
        FIT_INTERCEPT,
        Argument("max_iter", INT64, "Maximum iterations of the solver", 1),
        Argument("tol", DOUBLE, "Tolerance of the stopping criterion; non-negative", 0.0),
        Argument(
            "solver",
            STRING,
            "Optimisation algorithm",
            allowed=("lbfgs", "liblinear", "newton-cg", "newton-cholesky", "sag", "saga"),
        ),
        _random_state("scikit-learn", 2**32 - 1),
    ),
)

LINEAR_REGRESSION = LibraryTrainer(
    id="sklearn.linear_regression",
    description="Ordinary least squares (scikit-learn LinearRegression)",
    task="regression",
    estimator="sklearn.linear_model:LinearRegression",
    native_format=ModelFormat.MODEL_FORMAT_SKOPS,
    arguments=(
        FIT_INTERCEPT,
        Argument("positive", BOOL, "Force the coefficients to be non-negative"),
    ),
)


_LIBRARY_NAMES = {"sklearn": "scikit-learn", "xgboost": "XGBoost", "lightgbm": "LightGBM"}


def _ensemble(
    trainer_id: str, estimator: str, what: str, native_format: int, arguments: tuple[Argument, ...]
) -> LibraryTrainer:
    """A tree ensemble trainer; its task follows the estimator's class name."""
    module, name = estimator.split(":")
    return LibraryTrainer(
        id=trainer_id,
        description=f"{what} ({_LIBRARY_NAMES[module.split('.')[0]]} {name})",
        task="classification" if name.endswith("Classifier") else "regression",
        estimator=estimator,
        native_format=native_format,
        arguments=arguments,
    )


def _forest_arguments(criteria: tuple[str, ...]) -> tuple[Argument, ...]:
    return (
        N_ESTIMATORS,
        Argument("criterion", STRING, "Split quality measure", allowed=criteria),
        MAX_DEPTH,
        Argument("min_samples_split", INT64, "Minimum samples to split a node (a count)", 2),
        MIN_SAMPLES_LEAF,
        Argument("bootstrap", BOOL, "Draw bootstrap samples for each tree"),
        _random_state("scikit-learn", 2**32 - 1),
    )


def _hist_gradient_boosting_arguments(losses: tuple[str, ...]) -> tuple[Argument, ...]:
    return (
        Argument("loss", STRING, "Loss function to optimise", allowed=losses),
        Argument("learning_rate", DOUBLE, "Shrinkage of each tree; positive", POSITIVE),
        Argument("max_iter", INT64, "Number of boosting iterations", 1),
        Argument("max_leaf_nodes", INT64, "Maximum leaves of a tree", 2),
        MAX_DEPTH,
        MIN_SAMPLES_LEAF,
        Argument("l2_regularization", DOUBLE, "L2 penalty on leaf values", 0.0),
        Argument("max_bins", INT64, "Bins per feature, missing values aside", 2, 255),
        _random_state("scikit-learn", 2**32 - 1),
    )


_BOOSTER_ARGUMENTS = (
    Argument("n_estimators", INT64, "Number of boosting rounds", 1, default=100),
    Argument("max_depth", INT64, "Maximum depth of a tree; 0 means no limit", 0, default=6),
    Argument("learning_rate", DOUBLE, "Step size shrinkage (eta)", 0.0, 1.0, default=0.3),
    Argument("subsample", DOUBLE, "Row fraction sampled per tree", POSITIVE, 1.0, default=1.0),
    Argument(
        "colsample_bytree",
        DOUBLE,
        "Column fraction sampled per tree",
        POSITIVE,
        1.0,
        default=1.0,
    ),
    Argument("min_child_weight", DOUBLE, "Minimum hessian sum in a child", 0.0, default=1.0),
    Argument("gamma", DOUBLE, "Minimum loss reduction to split a leaf", 0.0, default=0.0),
    Argument("reg_alpha", DOUBLE, "L1 penalty on weights", 0.0, default=0.0),
    Argument("reg_lambda", DOUBLE, "L2 penalty on weights", 0.0, default=1.0),
    Argument("max_bin", INT64, "Maximum bins per feature", 2, default=256),
    Argument("random_state", INT64, "Seed of the random number generator", 0, default=0),
)


_LIGHTGBM_ARGUMENTS = (
    Argument("boosting_type", STRING, "Boosting algorithm", allowed=("gbdt", "dart", "rf")),
    Argument("n_estimators", INT64, "Number of boosting rounds", 1),
    Argument("learning_rate", DOUBLE, "Shrinkage rate; positive", POSITIVE),
    Argument("num_leaves", INT64, "Maximum leaves of a tree", 2, 131_072),
    Argument("max_depth", INT64, "Maximum depth of a tree; 0 or less means no limit"),
    Argument("min_child_samples", INT64, "Minimum samples in a leaf", 0),
    Argument("min_child_weight", DOUBLE, "Minimum hessian sum in a leaf", 0.0),
    Argument("min_split_gain", DOUBLE, "Minimum gain to split a leaf", 0.0),
    Argument("subsample", DOUBLE, "Row fraction sampled (bagging)", POSITIVE, 1.0),
    Argument("subsample_freq", INT64, "Bagging every this many rounds; 0 disables", 0),
    Argument("colsample_bytree", DOUBLE, "Column fraction sampled per tree", POSITIVE, 1.0),
    Argument("reg_alpha", DOUBLE, "L1 penalty on weights", 0.0),
    Argument("reg_lambda", DOUBLE, "L2 penalty on weights", 0.0),
    _random_state("LightGBM", 2**31 - 1),
)


SKOPS = ModelFormat.MODEL_FORMAT_SKOPS
FOREST, HIST = "Random forest", "Histogram-based gradient boosting"
BOOSTED = "Gradient-boosted trees"
LIBRARY_TRAINERS = (
    LOGISTIC_REGRESSION,
    LINEAR_REGRESSION,
    _ensemble(
        "sklearn.random_forest_classifier",
        "sklearn.ensemble:RandomForestClassifier",
        FOREST,
        SKOPS,
        _forest_arguments(("gini", "entropy", "log_loss")),
    ),
    _ensemble(
        "sklearn.random_forest_regressor",
        "sklearn.ensemble:RandomForestRegressor",
        FOREST,
        SKOPS,
        # "friedman_mse" is left out: deprecated in scikit-learn 1.9 as equal to "squared_error".
        _forest_arguments(("squared_error", "absolute_error", "poisson")),
    ),
    _ensemble(
        "sklearn.hist_gradient_boosting_classifier",
        "sklearn.ensemble:HistGradientBoostingClassifier",
        HIST,
        SKOPS,
        _hist_gradient_boosting_arguments(("log_loss",)),
    ),
    _ensemble(
        "sklearn.hist_gradient_boosting_regressor",
        "sklearn.ensemble:HistGradientBoostingRegressor",
        HIST,
        SKOPS,
        # "quantile" is left out: it needs the `quantile` argument, which is not offered.
        _hist_gradient_boosting_arguments(("squared_error", "absolute_error", "gamma", "poisson")),
    ),
    _ensemble(
        "xgboost.classifier",
        "xgboost:XGBClassifier",
        BOOSTED,
        ModelFormat.MODEL_FORMAT_XGBOOST,
        _BOOSTER_ARGUMENTS,
    ),
    _ensemble(
        "xgboost.regressor",
        "xgboost:XGBRegressor",
        BOOSTED,
        ModelFormat.MODEL_FORMAT_XGBOOST,
        _BOOSTER_ARGUMENTS,
    ),
    _ensemble(
        "lightgbm.classifier",
        "lightgbm:LGBMClassifier",
        BOOSTED,
        ModelFormat.MODEL_FORMAT_LIGHTGBM,
        _LIGHTGBM_ARGUMENTS,
    ),
    _ensemble(
        "lightgbm.regressor",
        "lightgbm:LGBMRegressor",
        BOOSTED,
        ModelFormat.MODEL_FORMAT_LIGHTGBM,
        _LIGHTGBM_ARGUMENTS,
    ),
)
