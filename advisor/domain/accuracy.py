"""What a stored sensitivity report says about one candidate precision: the accuracy figures the
recommend table and the gate show next to the predicted speed."""

from __future__ import annotations

from pydantic import BaseModel


class CandidateAccuracy(BaseModel):
    """Output SQNR, top-1 agreement and risk of a scheme on the user's weights.

    ``scheme`` is the report scheme read (``exact`` for precisions that quantize nothing);
    ``output_sqnr_db`` None with a scheme means the quantized outputs were exact.
    """

    scheme: str
    output_sqnr_db: float | None = None
    top1_agreement: float | None = None
    risk: str = "low"

    def cell(self) -> str:
        """A table cell: '31.2 dB, 99.5 %, low'."""
        if self.scheme == "exact":
            return "exact (not quantized)"
        parts = ["exact" if self.output_sqnr_db is None else f"{self.output_sqnr_db:.3g} dB"]
        if self.top1_agreement is not None:
            parts.append(f"{100 * self.top1_agreement:.3g} % top-1")
        parts.append(f"{self.risk} risk")
        return ", ".join(parts)
