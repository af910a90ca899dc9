"""What the ONNX source hands to the graph profiler: a loaded graph with every input shape fixed.

Kept apart from torch's ``ModelSpec``: an ONNX graph is counted node by node from its own
shapes (``advisor.profiling.onnx_graph``), and neither this module nor its producer imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class GraphSpec:
    """An ONNX model whose graph inputs have concrete shapes.

    ``model`` is the ``onnx.ModelProto`` (external tensor data not loaded: initializer
    shapes come from the TensorProto dims) with the dynamic input dimensions set from
    ``--input-shape``/``--batch``. ``input_shapes`` maps each graph input (initializers
    excluded) to its shape; ``input_shape`` is the first one, what reports show.
    """

    name: str
    path: Path
    model: Any
    input_shapes: dict[str, list[int]]
    input_shape: list[int]
    batch: int = 1
    source: str = "onnx"
    notes: list[str] = field(default_factory=list)
