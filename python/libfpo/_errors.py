"""Exceptions carrying libfpo's FPO_E* codes."""

from . import _ffi


def strerror(code):
    """libfpo's short English description of an error code (``fpo_strerror``)."""
    return _ffi.text(_ffi.lib.fpo_strerror(int(code)))


class FpoError(Exception):
    """A libfpo call returned a negative FPO_E* code.

    Attributes:
        code: the negative error code (e.g. ``-6``); compare with the ``E*``
            constants of :mod:`libfpo` (``libfpo.ECALLBACK``).
        name: its C name (``"FPO_ECALLBACK"``).
        strerror: ``fpo_strerror(code)``.
        errmsg: the message of the handle the call was made on
            (``fpo_X_errmsg``), ``fpo_last_errmsg()`` for creates and loads, or ``""``
            when the call has no handle to report through.
        function: the C function that failed.

    When a Python callback (an environment method or a progress function)
    raised and that made the call fail, the original exception is this one's
    ``__cause__`` and is named in the message.
    """

    def __init__(self, code, function="", errmsg="", detail=""):
        self.code = int(code)
        self.name = _ffi.ERROR_NAMES.get(self.code, "FPO_E?(%d)" % self.code)
        self.strerror = strerror(self.code)
        self.errmsg = errmsg or ""
        self.function = function
        msg = "%s: %s (%s)" % (function or "libfpo", self.name, self.strerror)
        if self.errmsg:
            msg += ": " + self.errmsg
        if detail:
            msg += "; " + detail
        super().__init__(msg)


class InvalidArgumentError(FpoError):
    """FPO_EINVAL: an argument is NULL, malformed or inconsistent."""


class OutOfMemoryError(FpoError):
    """FPO_ENOMEM: an allocation failed."""


class RangeError(FpoError):
    """FPO_ERANGE: a number is outside its documented bounds."""


class SizeError(FpoError):
    """FPO_ESIZE: a size or dimension does not match the handle."""


class NonFiniteError(FpoError):
    """FPO_ENONFINITE: NaN or Inf in an input, a callback output or a loss."""


class CallbackError(FpoError):
    """FPO_ECALLBACK: a host callback (e.g. a Python environment) failed."""


class FileError(FpoError):
    """FPO_EIO: reading or writing a file failed."""


class FormatError(FpoError):
    """FPO_EFORMAT: bytes are not a valid libfpo checkpoint."""


class VersionError(FpoError):
    """FPO_EVERSION: a checkpoint or table version is not supported."""


class StateError(FpoError):
    """FPO_ESTATE: call made in the wrong order or state."""


class MismatchError(FpoError):
    """FPO_EMISMATCH: two handles or a checkpoint do not fit together."""


class DivergedError(FpoError):
    """FPO_EDIVERGED: an update produced non-finite values and was rolled back."""


class UnsupportedError(FpoError):
    """FPO_EUNSUPPORTED: a valid request this build or object cannot do."""


class ThreadError(FpoError):
    """FPO_ETHREAD: creating or joining a worker thread failed."""


class UnknownKeyError(FpoError):
    """FPO_EKEY: an unknown tunable key."""


class RemoteError(FpoError):
    """FPO_EREMOTE: the same collective call failed on another rank."""


_BY_CODE = {
    -1: InvalidArgumentError, -2: OutOfMemoryError, -3: RangeError, -4: SizeError,
    -5: NonFiniteError, -6: CallbackError, -7: FileError, -8: FormatError,
    -9: VersionError, -10: StateError, -11: MismatchError, -12: DivergedError,
    -13: UnsupportedError, -14: ThreadError, -15: UnknownKeyError,
    -16: RemoteError,
}


def make_error(code, function="", errmsg="", detail=""):
    """The FpoError subclass instance for ``code``."""
    return _BY_CODE.get(int(code), FpoError)(code, function, errmsg, detail)
