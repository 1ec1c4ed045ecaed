"""Opens the file test_cf wrote with xarray (netCDF4 engine) and checks what a
climate scientist relies on: decoded times, dimensions, attributes, values,
and _FillValue masked as NaN."""
import sys

import numpy as np
import xarray as xr

path = sys.argv[1]
ds = xr.open_dataset(path, engine="netcdf4")
assert ds.attrs["Conventions"] == "CF-1.8", ds.attrs
assert ds.attrs["title"] == "msa CF test", ds.attrs
assert ds["h"].dims == ("time", "y", "x"), ds["h"].dims
assert ds.sizes["time"] == 3 and ds.sizes["y"] == 6 and ds.sizes["x"] == 8, dict(ds.sizes)
assert np.issubdtype(ds["time"].dtype, np.datetime64), ds["time"].dtype
expected = np.array(["2000-01-01T12:00", "2000-01-02T00:00", "2000-01-02T12:00"], dtype="datetime64[ns]")
assert (ds["time"].values == expected).all(), ds["time"].values
assert (ds["x"].values == 500.0 * np.arange(8)).all(), ds["x"].values
assert ds["x"].attrs["standard_name"] == "projection_x_coordinate"
assert ds["h"].attrs["units"] == "m" and ds["h"].attrs["long_name"] == "fluid depth", ds["h"].attrs
assert ds["h"].attrs["cell_methods"] == "time: point"
h = ds["h"].values
t, y, x = np.meshgrid(np.arange(3), np.arange(6), np.arange(8), indexing="ij")
want = (100 * t + 10 * y + 0.5 * x).astype(np.float32)
want[2, 3:, :] = np.nan  # never written: _FillValue, masked by xarray
assert np.array_equal(h, want, equal_nan=True), h
assert (ds["mask"].values == (np.add.outer(np.arange(6), np.arange(8)) % 2)).all()
print("xarray: ok:", path)
