"""Opens the climate demo's outputs with xarray: decoded times, CF metadata,
conserved mass, and a climatology consistent with the time series."""
import sys

import numpy as np
import xarray as xr

out = sys.argv[1]
d = xr.open_dataset(out + "/diagnostics.nc")
c = xr.open_dataset(out + "/climatology.nc")
assert d.attrs["Conventions"] == "CF-1.8" and c.attrs["Conventions"] == "CF-1.8"
assert np.issubdtype(d["time"].dtype, np.datetime64), d["time"].dtype
n = d.sizes["time"]
assert n == 31, n  # steps 0, 24, ..., 720
assert d["time"].values[0] == np.datetime64("2000-01-01T00:00:00"), d["time"].values[0]
assert d["time"].values[-1] == np.datetime64("2000-01-02T00:00:00"), d["time"].values[-1]
mass = d["mass"].values
assert np.all(np.abs(mass / mass[0] - 1) < 1e-12), mass
assert np.all(d["h_min"].values < d["h_mean"].values) and np.all(d["h_mean"].values < d["h_max"].values)
assert d["h_mean"].attrs["units"] == "m"
assert d["zonal_mean_h"].dims == ("time", "y") and d.sizes["y"] == 64
assert np.allclose(d["zonal_mean_h"].mean("y").values, d["h_mean"].values, rtol=1e-12)
assert (d["h_histogram"].sum("bin").values == 64 * 64).all()
assert c.attrs["samples"] == n, c.attrs
# The time mean of the domain mean equals the domain mean of the time mean.
assert np.isclose(float(c["h_mean"].mean()), float(d["h_mean"].mean()), rtol=1e-12)
assert (c["h_variance"].values >= 0).all()
print("xarray: ok:", n, "steps; mass", mass[0])
