"""GCJ-02 ↔ WGS 84: moved down a layer to `geo.datum` (intake in `incidents` converts too), with
BD-09 beside it. Kept so that dispatch's imports keep working."""

from geo.datum import (  # noqa: F401 - re-exported
    INVERSE_MAX_ITERATIONS,
    INVERSE_TOLERANCE_DEG,
    gcj02_to_wgs84,
    gcj02_to_wgs84_array,
    wgs84_to_gcj02,
    wgs84_to_gcj02_array,
)
