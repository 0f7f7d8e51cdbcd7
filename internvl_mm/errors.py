"""The project's error family: problems with what the user gave (a config, a checkpoint, a zoo name, a file).

The tools print a :class:`UserError` as one line that names the problem and the fix; any other exception is a bug
and keeps its traceback. Library code raises the most specific subclass.
"""


class UserError(Exception):
    """A problem with the user's input; the message says what is wrong and what to do."""


class ConfigError(UserError, ValueError):
    """A config (or a command-line override of it) that can not be read or built."""


class CheckpointError(UserError, RuntimeError):
    """A checkpoint that can not be read or does not fit the model."""


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder that a config names (data, annotations, a tokenizer) is not there."""


class InputError(UserError, ValueError):
    """A data sample that can not be used as it is (an image too large or smaller than a patch, a label outside
    the classes); the message names the file."""
