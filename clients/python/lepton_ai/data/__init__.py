"""The data layer's client: `DataManager` (datasets, versions, tags, uploads, downloads,
imports, exports, pipeline runs, as pyarrow tables), `DataProcessor` with its anonymization
operators and `col`/`lit` expressions for pipelines, and `StorageManager` for the storage
roots the server imports from and exports to.

Modules: manager (DataManager), catalog (datasets, versions, tags), transfers (the read and
write streams), sources (what load_data accepts), names (dataset references), processor,
expressions, storage, arrow_stream (Arrow IPC on the wire), file_formats (local files).
"""

from lepton_ai.data.catalog import DATASET_SERVICE, PROCESSING_SERVICE, DatasetCatalog
from lepton_ai.data.expressions import all_of, any_of, coalesce, col, concat, lit
from lepton_ai.data.manager import DataManager
from lepton_ai.data.processor import DataProcessor, Drop, Hash, Mask, Redact
from lepton_ai.data.storage import StorageManager

__all__ = [
    "DATASET_SERVICE",
    "PROCESSING_SERVICE",
    "DataManager",
    "DataProcessor",
    "DatasetCatalog",
    "Drop",
    "Hash",
    "Mask",
    "Redact",
    "StorageManager",
    "all_of",
    "any_of",
    "coalesce",
    "col",
    "concat",
    "lit",
]
