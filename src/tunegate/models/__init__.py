"""Models: spec strings, the backend contract, and the backends themselves.

    spec string --parse_model_spec--> ModelSpec --BACKENDS[scheme]--> loader --load--> Backend
                                                                      \\--fingerprint--> cache key

See :mod:`tunegate.models._backend` for the contract and its edge cases.
"""

from tunegate.models._backend import Backend, TransientBackendError
from tunegate.models._factory import BACKENDS, Loader, Model
from tunegate.models._requests import (
    ChatMessage,
    GenerateRequest,
    GenerateResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Request,
    Result,
    RoleRequest,
    RollingRequest,
    RollingResult,
    request_key,
)
from tunegate.models._spec import ModelSpec, parse_model_spec

__all__ = [
    "BACKENDS",
    "Backend",
    "ChatMessage",
    "GenerateRequest",
    "GenerateResult",
    "Loader",
    "LoglikelihoodRequest",
    "LoglikelihoodResult",
    "Model",
    "ModelSpec",
    "Request",
    "Result",
    "RoleRequest",
    "RollingRequest",
    "RollingResult",
    "TransientBackendError",
    "parse_model_spec",
    "request_key",
]
