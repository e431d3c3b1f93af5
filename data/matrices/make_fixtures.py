#!/usr/bin/env python3
"""Writes the small .npy files the matmul tests and the demo use, with numpy itself.

Run from anywhere: python3 data/matrices/make_fixtures.py. The output is deterministic (fixed
seeds), so re-running it changes nothing that is committed.
"""
import pathlib

import numpy as np
from numpy.lib import format as npy_format

here = pathlib.Path(__file__).resolve().parent
rng = np.random.default_rng(20240601)


def save(name, array, version=None):
    with open(here / name, "wb") as f:
        npy_format.write_array(f, array, version=version, allow_pickle=False)


def uniform(shape, dtype):
    return rng.uniform(-1.0, 1.0, size=shape).astype(dtype)


# Round trips of the reader against numpy's writer.
save("one_1x1_f64.npy", np.array([[2.5]]))
a35 = uniform((3, 5), np.float64)
b52 = uniform((5, 2), np.float64)
save("a_3x5_f64.npy", a35)
save("b_5x2_f64.npy", b52)
save("c_3x5x2_f64.npy", a35 @ b52)
save("col_1000x1_f64.npy", uniform((1000, 1), np.float64))
save("fortran_4x3_f64.npy", np.asfortranarray(np.arange(12, dtype=np.float64).reshape(4, 3)))
save("a_3x5_f32.npy", a35.astype(np.float32))
save("v2_3x5_f64.npy", a35, version=(2, 0))
save("v3_3x5_f64.npy", a35, version=(3, 0))

# Refusals: files numpy writes that forkpool must not multiply.
save("int64_2x2.npy", np.arange(4, dtype=np.int64).reshape(2, 2))
save("big_endian_2x2.npy", np.arange(4, dtype=">f8").reshape(2, 2))
save("vector_3.npy", np.arange(3, dtype=np.float64))

# Backends agree with each other and with numpy's product (several tiles at the smallest edge).
a = uniform((64, 48), np.float64)
b = uniform((48, 80), np.float64)
save("a_64x48_f64.npy", a)
save("b_48x80_f64.npy", b)
save("c_64x48x80_f64.npy", a @ b)
a = uniform((50, 40), np.float32)
b = np.asfortranarray(uniform((40, 30), np.float32))
save("a_50x40_f32.npy", a)
save("b_40x30_f32_fortran.npy", b)
save("c_50x40x30_f32.npy", a @ b)
