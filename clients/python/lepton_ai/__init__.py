"""Python SDK of the Lepton AI Infrastructure Standard.

`ModelRegistry` talks to its model registry (models, versions, aliases, resumable uploads
and downloads, conversion to ONNX). `TrainingClient` trains models on dataset versions
(`fit`, with logs, metrics and checkpoints). `DataManager` talks to a server's data layer (datasets,
versions, tags, uploads, downloads, imports, exports, pipeline runs) and hands back pyarrow
tables; `StorageManager` names a
storage root for server-side imports and exports; `DataProcessor` builds pipelines from typed
steps, with `col`/`lit` for filter predicates and derived columns. Failed calls raise
`LeptonAIError` subclasses carrying the server's ErrorInfo reason. `EdgeFleet` manages an
edge fleet (devices, deployments, signed releases, rollouts, telemetry); `lepton_ai.edge`
also holds release signing and verification and the golden vectors of health checks.

`AnnotationClient` labels the rows of dataset versions (projects with a label schema built
with `Label`, tasks, leases, annotations, predictions, reviews, agreement, prediction and
export jobs); `DataManager.annotate_data(data, Annotator(...))` opens a human project or has
a model pre-label the data; `to_pixels` converts a normalized `box` to pixels. The rest of
the layer (`Task`, `Decoder`, the other result builders) is in `lepton_ai.annotation`.

`ServiceClient` (client.py) is the base of every layer's client: the channel (TLS, bearer
token), typed errors, pagers over List RPCs and job watching. Each layer's client lives in its
own package (`lepton_ai.data`, ...).
"""

from importlib import metadata

from lepton_ai.annotation import (
    AnnotationClient,
    AnnotationProjectHandle,
    Annotator,
    Label,
    box,
    to_pixels,
)
from lepton_ai.client import ServiceClient
from lepton_ai.data import (
    DataManager,
    DataProcessor,
    Drop,
    Hash,
    Mask,
    Redact,
    StorageManager,
    all_of,
    any_of,
    coalesce,
    col,
    concat,
    lit,
)
from lepton_ai.edge import EdgeFleet, ReleaseFileSource
from lepton_ai.errors import (
    AbortedError,
    AlreadyExistsError,
    CancelledError,
    DataLossError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    JobFailedError,
    LeptonAIError,
    NotFoundError,
    OutOfRangeError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
    UnknownError,
    from_rpc_error,
)
from lepton_ai.registry import ModelRegistry
from lepton_ai.training import Trainer, TrainingClient, TrainingRun

__all__ = [
    "AbortedError",
    "AlreadyExistsError",
    "AnnotationClient",
    "AnnotationProjectHandle",
    "Annotator",
    "CancelledError",
    "DataLossError",
    "DataManager",
    "DataProcessor",
    "DeadlineExceededError",
    "Drop",
    "EdgeFleet",
    "FailedPreconditionError",
    "Hash",
    "InternalError",
    "InvalidArgumentError",
    "JobFailedError",
    "Label",
    "LeptonAIError",
    "Mask",
    "ModelRegistry",
    "NotFoundError",
    "OutOfRangeError",
    "PermissionDeniedError",
    "Redact",
    "ReleaseFileSource",
    "ResourceExhaustedError",
    "ServiceClient",
    "StorageManager",
    "Trainer",
    "TrainingClient",
    "TrainingRun",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
    "UnknownError",
    "all_of",
    "any_of",
    "box",
    "coalesce",
    "col",
    "concat",
    "from_rpc_error",
    "lit",
    "to_pixels",
]
__version__ = metadata.version("lepton-ai")
