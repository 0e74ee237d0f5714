"""What labelling a data set costs: hours of work and the price of outsourcing it."""
from __future__ import annotations

from dataclasses import dataclass

from .i18n import t


@dataclass(frozen=True)
class LabelingCost:
    """Total hours, hours per person and the outsourcing price of labelling a data set."""

    total_hours: float
    hours_per_person: float
    outsourcing_won: int

    def summary(self) -> str:
        """One line per quantity, as the course writes them, in the student's language."""
        return t("total work      : {total:,.2f} hours\nper person      : {each:,.2f} hours\n"
                 "outsourcing cost: {won:,} won", total=self.total_hours, each=self.hours_per_person,
                 won=self.outsourcing_won)


def labeling_cost(n_samples: int, seconds_per_sample: float, people: int = 1, won_per_sample: int = 50) -> LabelingCost:
    """Return the labelling effort for n_samples at seconds_per_sample, split over people, and its outsourced price."""
    if n_samples < 0 or seconds_per_sample < 0 or won_per_sample < 0:
        raise ValueError("Counts, seconds and prices cannot be negative.")
    if people < 1:
        raise ValueError(f"At least one person must label the data, got people={people}.")
    total_hours = n_samples * seconds_per_sample / 3600
    return LabelingCost(total_hours, total_hours / people, int(round(n_samples * won_per_sample)))
