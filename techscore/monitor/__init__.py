"""Portfolio monitoring (风险预警) between as-of dates: stability (PSI of the score and every feature), drivers of the
mean log-odds change (exact SHAP split), grade migration and the early-warning list."""

from techscore.monitor.drivers import BASE_ROW, driver_table
from techscore.monitor.migration import GONE, NEW, migration_matrix
from techscore.monitor.snapshot import Snapshot, take_snapshot
from techscore.monitor.spec import MonitorSpec, load_monitor_spec
from techscore.monitor.stability import PSI_BANDS, psi_band, stability_table
from techscore.monitor.warnings import WARNING_CODES, early_warnings

__all__ = ["BASE_ROW", "GONE", "NEW", "PSI_BANDS", "MonitorSpec", "load_monitor_spec", "WARNING_CODES", "Snapshot", "driver_table", "early_warnings",
           "migration_matrix", "psi_band", "stability_table", "take_snapshot"]
