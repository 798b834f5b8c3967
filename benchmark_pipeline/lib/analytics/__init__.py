"""Analytics over the warehouse facts: comparisons, the compatibility matrix, daily stats and hardware rankings.

Plain SQL and numpy, no Dagster: the CLI, the reports and the analytics assets share these functions.
"""
