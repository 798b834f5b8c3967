"""Change-point detection for benchmark series: Otava-exact mode, robust mode, direction, flags.

Pure library (NumPy/SciPy/pandas, no Dagster), shared by the ``regression_flags`` asset and the
``benchmark-db regressions`` commands.
"""
