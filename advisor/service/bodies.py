"""Request bodies of the service, and the YAML/JSON reader for platform uploads.

The fields are named like the CLI options. Bounds here are tighter than the CLI's: a
shared service must not let one request ask for a billion-element input or a hundred
models at once.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from advisor.domain.specs import MAX_ID_LENGTH, PlatformSpec
from advisor.gate.config import GateConfig
from advisor.precision import KvCacheDtype, Scheme
from advisor.recommend.types import RecommendRequest
from advisor.safe_input import load_json, load_yaml
from advisor.service.guards import JSON_TYPES
from advisor.service.limits import MAX_INPUT_ELEMENTS
from advisor.workload import Phase, Workload

#: Largest input an HTTP request may ask to profile (elements), whatever the model; the
#: limits per model (batch x its default shape, detection models) are in service.limits.
MAX_BATCH = 4096
MAX_TOKENS = 1 << 20

#: Suffixes of files that carry code or pickles: never named by a request.
CODE_SUFFIXES = (".pt2", ".pt", ".pth", ".pkl", ".pickle", ".bin", ".py")


def _no_code(value: str) -> str:
    """The service never imports code or unpickles: ``module:callable`` and .pt2/.pt/.pkl
    are refused; model files (ONNX, GGUF, safetensors, config directories) are read only
    from the directory the operator named with ``advisor serve --models-dir``, checked when
    the model is built. Decided from the text alone: asking the file system here would tell
    a client which names exist in the service's working directory (issue 14)."""
    if value.lower().endswith(CODE_SUFFIXES):
        raise ValueError(f"'{value}' is a code or pickle file; the service never loads code from a request")
    if ".." in value.split("/"):
        raise ValueError(f"'{value}': '..' is not allowed; name files relative to the server's models directory")
    return value


MODEL_FORMS = (
    "A zoo name (resnet50, yolov5s, llama-7b); hf:org/name from the server's local Hugging Face cache; "
    "timm:NAME (timm:convnext_tiny); or, when "
    "the server runs with --models-dir, a path relative to that directory: an ONNX file (model.onnx), a GGUF or "
    "safetensors checkpoint (model.gguf, model.safetensors), or a Hugging Face config directory. Code "
    "(module:callable, .pt2) is never accepted."
)

#: A model spec: the pattern rules out absolute paths, ``module:callable`` and every prefix but hf: and timm:.
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200,
                      pattern=r"^((hf|timm):)?[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9_.\-]+)*/?$"),
    AfterValidator(_no_code),
    Field(description=MODEL_FORMS, examples=["resnet50", "model.onnx", "hf:Qwen/Qwen2.5-7B"]),
]
Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]
Shape = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,7}(x[0-9]{1,7}){0,7}$")]
SchemeName = Scheme


def _check_shape(value: str | None) -> str | None:
    if value is None:
        return value
    total = 1
    for dim in value.split("x"):
        if int(dim) < 1:
            raise ValueError(f"dimension {dim} in '{value}' must be at least 1")
        total *= int(dim)
    if total > MAX_INPUT_ELEMENTS:
        raise ValueError(f"input of {total} elements is over the service's limit of {MAX_INPUT_ELEMENTS}")
    return value


#: An input shape within the service's limits (the same for every endpoint, the gate included).
BoundedShape = Annotated[Shape, AfterValidator(_check_shape)]
Batch = Annotated[int, Field(ge=1, le=MAX_BATCH)]
Tokens = Annotated[int, Field(ge=1, le=MAX_TOKENS)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ShapeOptions(_Body):
    """Options every model-taking endpoint shares, as on the command line."""

    batch: Batch | None = None
    input_shape: BoundedShape | None = Field(default=None, description="e.g. 1x3x640x640")
    phase: Phase | None = None
    seq_len: Tokens | None = None
    context: Tokens | None = None


class WorkloadBody(ShapeOptions):
    """A zoo model at a shape: the workload of a profile or predict request."""

    model: Name

    def workload(self) -> Workload:
        """The body's workload, built once here and handed to the stages below."""
        return Workload.from_options(self.model, self)


class ProfileBody(WorkloadBody):
    """POST /v1/profile. Zoo names only: the service never imports user code."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"model": "resnet18"}]})

    precision: SchemeName = "fp32"
    depth: int | None = Field(default=None, ge=0, le=64, description="Roll layers up to this module depth.")


class PredictBody(WorkloadBody):
    """POST /v1/predict: one model x precision x framework on a target."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"model": "yolov5s", "target": "jetson-nano", "precision": "fp16", "framework": "tensorrt"}]})

    target: Id
    precision: SchemeName
    framework: Id
    kv_cache: KvCacheDtype | None = Field(default=None, description="KV-cache dtype, as --kv-cache (default 16-bit).")
    per_layer: bool = Field(default=False, description="Fill `layers` with the kernels, as --per-layer.")


class RecommendBody(RecommendRequest):
    """POST /v1/recommend: RecommendRequest with the service's bounds."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"models": ["yolov5s"], "target": "jetson-nano", "max_latency_ms": 100, "top": 3}]})

    models: list[Name] = Field(min_length=1, max_length=8)
    target: Id
    batch: Batch | None = None
    input_shape: BoundedShape | None = None
    phase: Phase | None = None
    seq_len: Tokens | None = None
    context: Tokens | None = None
    frameworks: list[Id] | None = Field(default=None, max_length=64)
    precisions: list[SchemeName] | None = Field(default=None, max_length=16)
    top: int | None = Field(default=None, ge=1, le=1000)
    explain: bool = Field(default=False, description="Keep each candidate's `rules`, as --explain.")

    def as_request(self) -> RecommendRequest:
        return RecommendRequest.model_validate(self.model_dump(exclude={"explain"}))


class GateBody(GateConfig):
    """POST /v1/gate: a gate config as JSON; zoo model names only."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "yolov5s-jetson-nano", "models": ["yolov5s"], "target": "jetson-nano", "batch": 1,
        "frameworks": ["tensorrt"], "precisions": ["fp16", "int8"],
        "requirements": {"max_latency_ms": 100, "min_throughput": 10, "max_params": 8000000}}]})

    models: list[Name] = Field(min_length=1, max_length=8)
    target: Id
    input_shape: BoundedShape | None = None
    batch: Batch | None = None
    seq_len: Tokens | None = None
    context: Tokens | None = None


class Added(BaseModel):
    added: list[str]


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    database: str
    platforms: int
    frameworks: int


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Invalid(BaseModel):
    """Error body of a 422 (the shape FastAPI uses for its own validation errors)."""

    detail: list[ErrorItem]


class Problem(BaseModel):
    """Error body of 401, 403, 404, 409, 413 and 415 answers."""

    detail: str


#: Shown in /docs and sent by schemathesis' examples phase: a complete user platform.
EXAMPLE_PLATFORM: dict[str, Any] = {
    "id": "my-edge-board",
    "name": "My edge board",
    "vendor": "Example",
    "device_class": "edge_gpu_soc",
    "compute_capability": "8.7",
    "matrix_peaks": {"fp16": {"value": 20.0, "engine": "tensor", "source": "vendor datasheet"}},
    "vector_peaks": {"fp32": {"value": 1.2, "engine": "vector", "source": "vendor datasheet"}},
    "memory": {"capacity_gb": {"value": 8, "source": "vendor datasheet"},
               "bandwidth_gbs": {"value": 68.0, "source": "vendor datasheet"}},
    "features": ["cuda", "fp16_arith", "tensor_cores"],
    "parallelism": {"units": 8, "unit_kind": "sm", "clock_ghz": 1.0, "source": "vendor datasheet"},
}

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


def _invalid(loc: list[str | int], msg: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ["body", *loc], "msg": msg, "type": "value_error"}])


def parse_body(raw: bytes, content_type: str) -> Any:  # noqa: ANN401 - any JSON/YAML document
    """Bytes of a platform upload -> plain data, by content type (JSON or YAML), through
    the bounded reader every file goes through (advisor.safe_input: no YAML aliases,
    bounded nesting and integers, no duplicate keys, finite numbers only).

    Raises RequestValidationError (422) for bodies that do not parse; the caller answers
    415 for other content types before calling this.
    """
    from advisor.errors import InputError
    from advisor.safe_input import decode_text

    try:
        text = decode_text(raw, "body")
        return load_json(text, "body") if content_type in JSON_TYPES else load_yaml(text, "body")
    except InputError as exc:
        raise _invalid([], str(exc).removeprefix("body: ")) from None


def platforms_from(data: Any, *, single: bool) -> list[PlatformSpec]:
    """Validate uploaded data as one PlatformSpec (``single``) or one-or-a-list of them;
    a failure is a 422 whose ``loc`` names the field, e.g. body.memory.bandwidth_gbs."""
    items: list[Any]
    if isinstance(data, list) and not single:
        if not data:
            raise _invalid([], "expected a platform or a non-empty list of platforms")
        items, prefix = data, True
    else:
        items, prefix = [data], False
    specs: list[PlatformSpec] = []
    for i, item in enumerate(items):
        loc_prefix: list[str | int] = [i] if prefix else []
        if not isinstance(item, dict):
            raise _invalid(loc_prefix, f"expected a mapping of platform fields, got {type(item).__name__}")
        try:
            specs.append(PlatformSpec.model_validate(item))
        except ValidationError as exc:
            errors = [
                {"loc": ["body", *loc_prefix, *e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors(include_url=False)
            ]
            raise RequestValidationError(errors) from None
    ids = [s.id for s in specs]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise _invalid([], f"platform id '{dupes[0]}' appears more than once in the body")
    return specs
