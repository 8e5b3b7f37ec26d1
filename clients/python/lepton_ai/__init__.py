"""Python SDK of the Lepton AI Infrastructure Standard.

`DataManager` talks to a server's data layer (datasets, versions, tags, uploads, downloads,
imports, exports, pipeline runs) and hands back pyarrow tables; `StorageManager` names a
storage root for server-side imports and exports; `DataProcessor` builds pipelines from typed
steps, with `col`/`lit` for filter predicates and derived columns. Failed calls raise
`LeptonAIError` subclasses carrying the server's ErrorInfo reason.
"""

from importlib import metadata

from lepton_ai.data_manager import DataManager
from lepton_ai.data_processor import DataProcessor, Drop, Hash, Mask, Redact
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
from lepton_ai.expressions import all_of, any_of, coalesce, col, concat, lit
from lepton_ai.storage import StorageManager

__all__ = [
    "AbortedError",
    "AlreadyExistsError",
    "CancelledError",
    "DataLossError",
    "DataManager",
    "DataProcessor",
    "DeadlineExceededError",
    "Drop",
    "FailedPreconditionError",
    "Hash",
    "InternalError",
    "InvalidArgumentError",
    "JobFailedError",
    "LeptonAIError",
    "Mask",
    "NotFoundError",
    "OutOfRangeError",
    "PermissionDeniedError",
    "Redact",
    "ResourceExhaustedError",
    "StorageManager",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
    "UnknownError",
    "all_of",
    "any_of",
    "coalesce",
    "col",
    "concat",
    "from_rpc_error",
    "lit",
]
__version__ = metadata.version("lepton-ai")
