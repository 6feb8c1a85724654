"""Scoring a partitioned data set with a saved run, partition by partition, locally or on a Dask cluster."""
