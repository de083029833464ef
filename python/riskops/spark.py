"""Profiles of Spark DataFrames: each partition is profiled where it lives, in the executors,
and the partitions' profiles are merged on the driver, so a table far larger than one
machine is profiled in one pass (whylogs's approach, with riskops's sketches).

>>> from riskops.spark import profile_partitions, profile_dataframe
>>> parts = df.mapInArrow(profile_partitions(), PROFILE_SCHEMA)   # one row per partition
>>> profile = profile_dataframe(df)                               # the same, merged

The merged profile equals the one machine's: counts, missing values, min, max, mean and
standard deviation exactly (up to floating-point rounding of the merge), frequencies exactly
below their capacity, quantiles within the sketch's rank error (``rank_error`` in each
column of ``profile.to_dict()``). Executors need this package installed (``pip install`` of
the same wheel); nothing else.
"""

from . import _riskops

#: The schema of :func:`profile_partitions`'s output: one row per partition.
PROFILE_SCHEMA = "profile binary"


def profile_partitions():
    """A function for ``DataFrame.mapInArrow``: profiles the partition's Arrow record batches
    and yields one row holding the profile's bytes (``Profile.to_bytes``). A partition without
    rows yields nothing."""

    def profile_partition(batches):
        import pyarrow

        merged = None
        for batch in batches:
            if batch.num_rows == 0:
                continue
            part = _riskops.profile(pyarrow.Table.from_batches([batch]))
            merged = part if merged is None else merged.merge(part)
        if merged is not None:
            yield pyarrow.RecordBatch.from_pydict(
                {"profile": [merged.to_bytes()]}, schema=pyarrow.schema([("profile", pyarrow.binary())])
            )

    return profile_partition


def merge(profiles):
    """The merge of an iterable of :class:`riskops.Profile` s (or their bytes), in order."""
    merged = None
    for p in profiles:
        if isinstance(p, (bytes, bytearray, memoryview)):
            p = _riskops.Profile.from_bytes(bytes(p))
        merged = p if merged is None else merged.merge(p)
    if merged is None:
        raise ValueError("no profiles to merge (the DataFrame has no rows)")
    return merged


def profile_dataframe(df):
    """The profile of a Spark DataFrame: partitions profiled in the executors
    (:func:`profile_partitions`), merged on the driver."""
    rows = df.mapInArrow(profile_partitions(), PROFILE_SCHEMA).collect()
    return merge(row["profile"] for row in rows)
