"""The one error type of cnitool."""


class ToolError(Exception):
    """A failure to report on stderr, exiting with `status`.

    `stdout` is printed on stdout before exiting (used for a plugin's error
    JSON, which CNI puts on stdout).
    """

    def __init__(self, message: str, status: int = 1, stdout: str | None = None):
        super().__init__(message)
        self.status = status if status > 0 else 1
        self.stdout = stdout
