"""Moving float vectors between Python and C.

Inputs may be numpy arrays (when numpy is importable), ``array.array('f')``
or any buffer of float32, or plain sequences of numbers.  numpy and
float32 buffers are passed without copying when they are already contiguous
float32.
"""

import array
import ctypes
from ctypes import c_float

try:  # optional
    import numpy as np
except ImportError:  # pragma: no cover - depends on the machine
    np = None

HAVE_NUMPY = np is not None
FloatPtr = ctypes.POINTER(c_float)


def is_ndarray(x):
    return np is not None and isinstance(x, np.ndarray)


def is_float_buffer(x):
    """True for array('f') and other flat float32 buffers (not numpy)."""
    if isinstance(x, array.array):
        return x.typecode == "f"
    if isinstance(x, (bytes, bytearray, str, list, tuple)) or is_ndarray(x):
        return False
    try:
        m = memoryview(x)
    except TypeError:
        return False
    return m.format == "f" and m.ndim == 1


class CFloats:
    """A C float* view of some Python data, keeping what it points to alive.

    ``ptr`` is a ``POINTER(c_float)``; ``n`` the number of floats."""

    __slots__ = ("ptr", "n", "_keep")

    def __init__(self, x, what="array"):
        if is_ndarray(x):
            a = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
            self._keep = a
            self.n = a.size
            self.ptr = a.ctypes.data_as(FloatPtr)
        elif is_float_buffer(x):
            m = memoryview(x)
            n = len(m)
            if m.readonly:
                buf = (c_float * n).from_buffer_copy(m)
            else:
                buf = (c_float * n).from_buffer(m)
            self._keep = (x, buf)
            self.n = n
            self.ptr = ctypes.cast(buf, FloatPtr)
        else:
            try:
                vals = [float(v) for v in x]
            except TypeError as exc:
                raise TypeError("%s must be a sequence of numbers, got %s" % (what, type(x).__name__)) from exc
            n = len(vals)
            buf = (c_float * n)(*vals)
            self._keep = buf
            self.n = n
            self.ptr = ctypes.cast(buf, FloatPtr)


def rows(x):
    """If x is a 2-D batch (numpy ndim 2, or a sequence of sequences), return
    (number of rows, flat CFloats-compatible input); otherwise None."""
    if is_ndarray(x):
        if x.ndim == 2:
            return x.shape[0], x
        return None
    if is_float_buffer(x) or isinstance(x, (str, bytes)):
        return None
    try:
        first = x[0]
    except (TypeError, IndexError, KeyError):
        return None
    if hasattr(first, "__len__") and not isinstance(first, (str, bytes)):
        flat = []
        for r in x:
            flat.extend(r)
        return len(x), flat
    return None


def write_floats(ptr, values, n, what):
    """Write exactly n numbers from ``values`` through the C float* ``ptr``."""
    if is_ndarray(values):
        values = values.reshape(-1).tolist()
    elif not isinstance(values, (list, tuple)):
        values = list(values)
    if len(values) != n:
        raise ValueError("%s has %d values, expected %d" % (what, len(values), n))
    for i in range(n):
        ptr[i] = values[i]
