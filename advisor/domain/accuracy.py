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

    def sqnr_cell(self) -> str:
        """The output SQNR cell of a candidates table: '18.2 dB high' (with the risk level),
        'exact' for a precision that quantizes nothing or a scheme whose outputs did not move."""
        from advisor.display import sig3

        if self.scheme == "exact" or self.output_sqnr_db is None:
            return "exact"
        return f"{sig3(self.output_sqnr_db)} dB {RISK_SHORT.get(self.risk, self.risk)}"

    def top1_cell(self) -> str:
        """'99.2%'; '>99.9%' rather than a rounded '100%' when some prediction moved; '-' when
        the model does not classify."""
        from advisor.display import sig3

        if self.top1_agreement is None:
            return "-"
        if self.top1_agreement < 1.0 and sig3(100 * self.top1_agreement) == "100":
            return ">99.9%"
        return f"{sig3(100 * self.top1_agreement)}%"


#: risk levels as a table cell shows them
RISK_SHORT = {"low": "low", "medium": "med", "high": "high"}
#: the cells of a candidate whose scheme no stored report measured
NOT_MEASURED = "-"
