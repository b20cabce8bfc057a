"""This machine's native float32 matrix-multiply ceiling: OpenBLAS's cblas_sgemm (Debian's libopenblas) on
square float32 matrices, at a given thread count. The physical limit the bench quotes beside the
WebAssembly SIMD loop.

Usage: /usr/bin/python3 tools/reference/sgemm_peak.py THREADS [N]
Prints one JSON object: {"threads", "n", "gflops", "library"}.
"""

import ctypes
import ctypes.util
import json
import sys
import time

import numpy as np


def main():
    threads = int(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2048
    name = ctypes.util.find_library("openblas")
    if not name:
        raise SystemExit("no libopenblas (apt-get install -y libopenblas-dev)")
    blas = ctypes.CDLL(name)
    blas.openblas_set_num_threads(threads)
    f = ctypes.c_float
    p = ctypes.POINTER(ctypes.c_float)
    blas.cblas_sgemm.argtypes = [ctypes.c_int] * 6 + [f, p, ctypes.c_int, p, ctypes.c_int, f, p, ctypes.c_int]
    rng = np.random.default_rng(1)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.zeros((n, n), dtype=np.float32)

    def sgemm():
        # row-major (101), no transposes (111): C = A B
        blas.cblas_sgemm(101, 111, 111, n, n, n, 1.0, a.ctypes.data_as(p), n, b.ctypes.data_as(p), n, 0.0,
                         c.ctypes.data_as(p), n)

    sgemm()
    if not np.allclose(c[:4, :4], a[:4] @ b[:, :4], rtol=1e-3, atol=1e-2):
        raise SystemExit("cblas_sgemm gave a wrong product")
    best = 0.0
    for _ in range(5):
        t0 = time.perf_counter()
        sgemm()
        best = max(best, 2 * n ** 3 / (time.perf_counter() - t0) / 1e9)
    print(json.dumps({"threads": threads, "n": n, "gflops": best, "library": name}))


if __name__ == "__main__":
    main()
