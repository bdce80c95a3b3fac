#!/usr/bin/env python3
"""Writes the I/O tests' fixtures with h5py and numpy (Debian's python3-h5py,
python3-numpy): files as other tools write them, good and bad.

    make_fixtures.py DIR

Values follow tests/support/testing.h's sample(shape, dtype, seed), so the C++ tests
compute the expected arrays with torch and compare.
"""
import os
import sys

import h5py
import numpy as np

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64", "complex64", "complex128"]


def sample(shape, dtype, seed=0):
    n = int(np.prod(shape, dtype=np.int64))
    base = (np.arange(n, dtype=np.int64) * 7 + seed * 13) % 23 - 11
    if dtype == "bool":
        return (base > 0).reshape(shape)
    if dtype.startswith("float"):
        return (base.astype(np.float64) / 4.0).reshape(shape).astype(dtype)
    if dtype.startswith("complex"):
        re = base.astype(np.float64) / 4.0
        im = ((base * 3) % 7).astype(np.float64) / 2.0
        return (re + 1j * im).reshape(shape).astype(dtype)
    if dtype == "uint8":
        return (base + 11).reshape(shape).astype(dtype)
    return base.reshape(shape).astype(dtype)


def main(d):
    os.makedirs(d, exist_ok=True)
    shape = (7, 5)
    with h5py.File(os.path.join(d, "types.h5"), "w") as f:
        for t in DTYPES:
            f[t] = sample(shape, t)
            f.create_dataset("gzip/" + t, data=sample(shape, t), chunks=(3, 2), compression="gzip", compression_opts=4)
        f.create_dataset("shuffled", data=sample((9, 4, 3), "float64", 1), chunks=(2, 4, 1), shuffle=True,
                         compression="gzip")
        f["cube"] = sample((4, 3, 5), "float64", 2)
        f["vec"] = sample((11,), "int64", 3)
        f["scalar"] = np.float64(2.5)
        f["empty"] = np.zeros((0, 3), dtype=np.float32)
        f["big_endian"] = sample(shape, "float64").astype(">f8")
        f["strings"] = np.array([b"a", b"bc"])
        f["uint16"] = np.arange(6, dtype=np.uint16)
        f["group/sub/deep"] = sample((6, 2), "int32", 4)
    with h5py.File(os.path.join(d, "single.h5"), "w") as f:
        f["only"] = sample((5, 3), "float32", 5)
    with h5py.File(os.path.join(d, "lzf.h5"), "w") as f:
        f.create_dataset("x", data=sample((8, 8), "float32"), chunks=(4, 4), compression="lzf")
    for t in DTYPES:
        np.save(os.path.join(d, t + ".npy"), sample(shape, t))
    np.save(os.path.join(d, "cube.npy"), sample((4, 3, 5), "float64", 2))
    np.save(os.path.join(d, "scalar.npy"), np.float64(2.5))
    np.save(os.path.join(d, "fortran.npy"), np.asfortranarray(sample((4, 3), "float32")))
    np.save(os.path.join(d, "uint16.npy"), np.arange(6, dtype=np.uint16))
    np.save(os.path.join(d, "big_endian.npy"), sample((4,), "float64").astype(">f8"))
    np.savetxt(os.path.join(d, "floats.csv"), sample((13, 4), "float64", 6), delimiter=";", header="a;b;c;d",
               comments="", fmt="%.17g")
    np.savetxt(os.path.join(d, "ints.csv"), sample((10, 3), "int64", 7), delimiter=",", fmt="%d")

    # Bad files.
    with open(os.path.join(d, "float32.npy"), "rb") as f:
        good = f.read()
    with open(os.path.join(d, "truncated.npy"), "wb") as f:
        f.write(good[:-7])
    hdr = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000000, 1000000), }"
    hdr = hdr + b" " * (118 - len(hdr)) + b"\n"
    with open(os.path.join(d, "absurd.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr + b"\0" * 64)
    hdr = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }"
    hdr = hdr + b" " * (118 - len(hdr)) + b"\n"
    with open(os.path.join(d, "terabytes.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr + b"\0" * 64)
    with open(os.path.join(d, "huge_header.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x02\x00" + (1 << 31).to_bytes(4, "little") + b"{" + b" " * 100)
    with open(os.path.join(d, "garbage_header.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + (20).to_bytes(2, "little") + b"{'descr': <f4 ]]]]\n")
    with open(os.path.join(d, "not_npy.npy"), "wb") as f:
        f.write(b"hello world, no magic here\n")
    with open(os.path.join(d, "not_hdf5.h5"), "wb") as f:
        f.write(b"this is a text file\n" * 10)
    with open(os.path.join(d, "types.h5"), "rb") as f:
        h5 = f.read()
    with open(os.path.join(d, "truncated.h5"), "wb") as f:
        f.write(h5[: len(h5) // 2])
    with open(os.path.join(d, "ragged.csv"), "w") as f:
        f.write("1,2,3\n4,5,6\n7,8\n9,10,11\n")
    with open(os.path.join(d, "words.csv"), "w") as f:
        f.write("1,2\n3,x\n")
    # Missing values: 40 rows of 3 fields, field (i, j) empty where (3i + j) % 5 == 0
    # (blanks where % 10 == 0), else 3i + j; a blank line after row 19.
    with open(os.path.join(d, "missing.csv"), "w") as f:
        for i in range(40):
            v = [3 * i + j for j in range(3)]
            f.write(",".join((" " if x % 10 == 0 else "") if x % 5 == 0 else str(x) for x in v) + "\n")
            if i == 19:
                f.write("\n")
    with open(os.path.join(d, "tabs.csv"), "w") as f:
        f.write("1\t2\n3\t4\n")


if __name__ == "__main__":
    main(sys.argv[1])
