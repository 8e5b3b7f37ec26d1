from lepton.type.v1 import accelerator_pb2 as _accelerator_pb2
from lepton.type.v1 import tensor_pb2 as _tensor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeviceCapabilities(_message.Message):
    __slots__ = ("os", "os_version", "architecture", "memory_bytes", "storage_bytes", "accelerators", "runtimes", "supported_commands", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    OS_FIELD_NUMBER: _ClassVar[int]
    OS_VERSION_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    STORAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    ACCELERATORS_FIELD_NUMBER: _ClassVar[int]
    RUNTIMES_FIELD_NUMBER: _ClassVar[int]
    SUPPORTED_COMMANDS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    os: str
    os_version: str
    architecture: str
    memory_bytes: int
    storage_bytes: int
    accelerators: _containers.RepeatedCompositeFieldContainer[Accelerator]
    runtimes: _containers.RepeatedCompositeFieldContainer[Runtime]
    supported_commands: _containers.RepeatedScalarFieldContainer[str]
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, os: _Optional[str] = ..., os_version: _Optional[str] = ..., architecture: _Optional[str] = ..., memory_bytes: _Optional[int] = ..., storage_bytes: _Optional[int] = ..., accelerators: _Optional[_Iterable[_Union[Accelerator, _Mapping]]] = ..., runtimes: _Optional[_Iterable[_Union[Runtime, _Mapping]]] = ..., supported_commands: _Optional[_Iterable[str]] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Accelerator(_message.Message):
    __slots__ = ("id", "type", "vendor", "model", "memory_bytes", "compute_unit_count", "precisions", "driver_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_UNIT_COUNT_FIELD_NUMBER: _ClassVar[int]
    PRECISIONS_FIELD_NUMBER: _ClassVar[int]
    DRIVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: _accelerator_pb2.AcceleratorType
    vendor: str
    model: str
    memory_bytes: int
    compute_unit_count: int
    precisions: _containers.RepeatedScalarFieldContainer[_tensor_pb2.DataType]
    driver_version: str
    def __init__(self, id: _Optional[str] = ..., type: _Optional[_Union[_accelerator_pb2.AcceleratorType, str]] = ..., vendor: _Optional[str] = ..., model: _Optional[str] = ..., memory_bytes: _Optional[int] = ..., compute_unit_count: _Optional[int] = ..., precisions: _Optional[_Iterable[_Union[_tensor_pb2.DataType, str]]] = ..., driver_version: _Optional[str] = ...) -> None: ...

class Runtime(_message.Message):
    __slots__ = ("name", "version", "execution_providers")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    execution_providers: _containers.RepeatedCompositeFieldContainer[ExecutionProvider]
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., execution_providers: _Optional[_Iterable[_Union[ExecutionProvider, _Mapping]]] = ...) -> None: ...

class ExecutionProvider(_message.Message):
    __slots__ = ("name", "accelerator_ids", "precisions", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ACCELERATOR_IDS_FIELD_NUMBER: _ClassVar[int]
    PRECISIONS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    accelerator_ids: _containers.RepeatedScalarFieldContainer[str]
    precisions: _containers.RepeatedScalarFieldContainer[_tensor_pb2.DataType]
    version: str
    def __init__(self, name: _Optional[str] = ..., accelerator_ids: _Optional[_Iterable[str]] = ..., precisions: _Optional[_Iterable[_Union[_tensor_pb2.DataType, str]]] = ..., version: _Optional[str] = ...) -> None: ...
