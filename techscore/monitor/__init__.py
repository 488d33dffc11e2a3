"""Portfolio monitoring (风险预警): stability, drivers of change, grade migration and early warnings between dates."""
