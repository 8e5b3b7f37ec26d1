from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class ModelFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_FORMAT_UNSPECIFIED: _ClassVar[ModelFormat]
    MODEL_FORMAT_ONNX: _ClassVar[ModelFormat]
    MODEL_FORMAT_SAFETENSORS: _ClassVar[ModelFormat]
    MODEL_FORMAT_TORCHSCRIPT: _ClassVar[ModelFormat]
    MODEL_FORMAT_TORCH_EXPORT: _ClassVar[ModelFormat]
    MODEL_FORMAT_SAVED_MODEL: _ClassVar[ModelFormat]
    MODEL_FORMAT_TFLITE: _ClassVar[ModelFormat]
    MODEL_FORMAT_GGUF: _ClassVar[ModelFormat]
    MODEL_FORMAT_OPENVINO_IR: _ClassVar[ModelFormat]
    MODEL_FORMAT_PICKLE: _ClassVar[ModelFormat]
    MODEL_FORMAT_OTHER: _ClassVar[ModelFormat]
    MODEL_FORMAT_SKOPS: _ClassVar[ModelFormat]
    MODEL_FORMAT_XGBOOST: _ClassVar[ModelFormat]
    MODEL_FORMAT_LIGHTGBM: _ClassVar[ModelFormat]
    MODEL_FORMAT_TORCH_STATE_DICT: _ClassVar[ModelFormat]
    MODEL_FORMAT_MLFLOW: _ClassVar[ModelFormat]
MODEL_FORMAT_UNSPECIFIED: ModelFormat
MODEL_FORMAT_ONNX: ModelFormat
MODEL_FORMAT_SAFETENSORS: ModelFormat
MODEL_FORMAT_TORCHSCRIPT: ModelFormat
MODEL_FORMAT_TORCH_EXPORT: ModelFormat
MODEL_FORMAT_SAVED_MODEL: ModelFormat
MODEL_FORMAT_TFLITE: ModelFormat
MODEL_FORMAT_GGUF: ModelFormat
MODEL_FORMAT_OPENVINO_IR: ModelFormat
MODEL_FORMAT_PICKLE: ModelFormat
MODEL_FORMAT_OTHER: ModelFormat
MODEL_FORMAT_SKOPS: ModelFormat
MODEL_FORMAT_XGBOOST: ModelFormat
MODEL_FORMAT_LIGHTGBM: ModelFormat
MODEL_FORMAT_TORCH_STATE_DICT: ModelFormat
MODEL_FORMAT_MLFLOW: ModelFormat
