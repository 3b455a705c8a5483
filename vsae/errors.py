"""Every error vsae raises on purpose, under one base class.

Errors are translated only at a boundary: the CLI's ``main()`` prints ``str(error)`` as one line and exits with
``error.exit_code``; host adapters turn them into host messages.
"""


class VsaeError(Exception):
    """Base of all vsae errors; its message is one line that names the file, frame or parameter at fault."""

    exit_code = 1


class InputError(VsaeError):
    """Bad input: a missing or unreadable frame, mismatched sizes, non-finite pixels, an empty sequence."""

    exit_code = 2


class ParameterError(VsaeError):
    """A parameter outside its range or of the wrong form (frame range, budget, size)."""

    exit_code = 2


class CacheError(VsaeError):
    """The model cache cannot be read or written (unwritable folder, damaged entry, lock time-out)."""

    exit_code = 3


class ModelNotFound(CacheError):
    """No trained model is cached for this shot and these settings, and training was not asked for."""


class BackendError(VsaeError):
    """An inference backend (torch, ONNX Runtime) is missing or failed."""

    exit_code = 4


class OutputError(VsaeError):
    """An output cannot go where it was asked to: it names an input, its folder is not writable, its file type or
    pattern is wrong, or what would be written is not finite. Raised before anything is written."""

    exit_code = 2


class TrainingError(VsaeError):
    """A training that cannot give a usable model: its loss or weights stopped being finite (it diverged)."""

    exit_code = 5


class BuildError(VsaeError):
    """The OpenFX bundle cannot be built or installed (no compiler, a failed compile, an unwritable folder)."""

    exit_code = 5


class ProtocolError(VsaeError):
    """The render server's peer closed the connection, timed out, or sent something that is not a message."""

    exit_code = 6


class MalformedMessage(ProtocolError):
    """A whole message arrived but is not one (not UTF-8, no op line): the connection itself is still sound."""


class Aborted(VsaeError):
    """The host gave up on this render (the shim closed it): nobody is left to answer."""

