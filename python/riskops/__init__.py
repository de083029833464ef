"""riskops in Python.

Local work needs no server: ``riskops.drift`` compares two DataFrames with the riskops drift
engine (the same answers as ``riskops drift`` on the same data), ``riskops.profile`` computes
mergeable profiles (``riskops.spark`` does it across a Spark job's partitions). ``riskops.Client``
talks to a riskops server.

>>> import riskops
>>> report = riskops.drift(reference_df, current_df)
>>> report.drifted, report.share
>>> report.columns            # one row per column: method, statistic, p-value, verdict
"""

from ._riskops import Profile, __version__, methods
from .client import ApiError, Client
from .drift import DriftReport, OodReport, drift, drift_from_profiles, ood, profile

__all__ = [
    "ApiError",
    "Client",
    "DriftReport",
    "OodReport",
    "Profile",
    "__version__",
    "drift",
    "drift_from_profiles",
    "methods",
    "ood",
    "profile",
]
