"""What a dense series keeps at the resolution it is drawn at: pure numpy, no drawing.

A meter chart over thousands of windows draws its reading lines thinned to columns finer than a screen's pixels
(``m4_indices``: each column's first, lowest, highest and last point), its windows as each column's covered share
(``band_coverage``), and many marks once per column (``first_per_column``): the picture is the same, the SVG small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

# A thinned layer is exact at this many columns per point of the figure's width. A point is 4/3 CSS px, so 8/3
# device pixels on a 2x screen: a column is narrower than one of their pixels (and than one of a 3x phone's, where
# the chart is scaled down to the phone's width).
COLUMNS_PER_PT = 3


@dataclass(frozen=True)
class Columns:
    """Equal columns over [low, high] of a date axis: the resolution a thinned layer is exact at. They span the data
    drawn, which the axes show over less than the figure's width, so a column is at most 1/COLUMNS_PER_PT pt."""

    low: float
    high: float
    count: int

    @classmethod
    def spanning(cls, width_pt: float, *times: NDArray[np.float64]) -> Columns:
        """Columns over every time given, COLUMNS_PER_PT per point of a chart ``width_pt`` points wide."""
        import numpy as np

        values = np.concatenate(times)
        low, high = float(values.min()), float(values.max())
        return cls(low, high if high > low else low + 1.0, round(COLUMNS_PER_PT * width_pt))

    @property
    def width(self) -> float:
        return (self.high - self.low) / self.count

    def edges(self) -> NDArray[np.float64]:
        import numpy as np

        return np.linspace(self.low, self.high, self.count + 1)

    def of(self, times: NDArray[np.float64]) -> NDArray[np.intp]:
        """The column each time falls in (the last column holds its right edge; a time outside, the nearest)."""
        import numpy as np

        found = np.floor((times - self.low) / self.width).astype(np.intp)
        return np.clip(found, 0, self.count - 1)


def m4_indices(times: NDArray[np.float64], values: NDArray[np.float64], grid: Columns) -> NDArray[np.intp]:
    """The points a line needs to look the same at the grid's resolution (M4): in each column, in time order, its
    first point, its lowest, its highest and its last. Indices in time order (equal times as given), so the thinned
    line enters and leaves each column where the full one does and spans the same heights in it."""
    import numpy as np

    order = np.argsort(times, kind="stable")
    if not len(order):
        return order
    column = grid.of(times[order])
    starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
    ends = np.r_[starts[1:], len(order)] - 1
    by_value = np.lexsort((values[order], column))  # by column, then value: a column's lowest first, highest last
    kept = np.unique(np.concatenate([starts, ends, by_value[starts], by_value[ends]]))
    found: NDArray[np.intp] = order[kept]
    return found


def band_coverage(opened: NDArray[np.float64], closed: NDArray[np.float64], grid: Columns) -> NDArray[np.float64]:
    """The share of each column's time inside at least one band [opened, closed] (overlapping bands count once)."""
    import numpy as np

    starts, ends = merged_bands(opened, closed)
    before = np.r_[0.0, np.cumsum(ends - starts)]  # time covered by the bands before each

    def covered_until(moments: NDArray[np.float64]) -> NDArray[np.float64]:
        band = np.searchsorted(starts, moments, side="right") - 1  # the last band opened by then
        at = np.maximum(band, 0)
        within = np.clip(moments - starts[at], 0.0, ends[at] - starts[at])
        found: NDArray[np.float64] = np.where(band < 0, 0.0, before[at] + within)
        return found

    share: NDArray[np.float64] = np.clip(np.diff(covered_until(grid.edges())) / grid.width, 0.0, 1.0)
    return share


def merged_bands(
    opened: NDArray[np.float64], closed: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Bands that overlap or touch joined into one: their union as disjoint bands in time order."""
    import numpy as np

    order = np.argsort(opened, kind="stable")
    starts = opened[order]
    reach = np.maximum.accumulate(np.maximum(closed[order], starts))  # how far the bands so far reach
    fresh = np.r_[True, starts[1:] > reach[:-1]]  # a band opening after all before it closed starts a new run
    last = np.r_[np.flatnonzero(fresh)[1:] - 1, len(starts) - 1]
    return starts[fresh], reach[last]


def first_per_column(times: NDArray[np.float64], grid: Columns) -> NDArray[np.intp]:
    """Indices of the earliest time in each column that has one: marks closer than a column drawn once."""
    import numpy as np

    order = np.argsort(times, kind="stable")
    _, first = np.unique(grid.of(times[order]), return_index=True)
    found: NDArray[np.intp] = order[first]
    return found
