import Glibc

/// A file descriptor this value owns: closed (`close(2)`) when the value goes away.
///
/// Move it with `consume`, or `take()` the raw number to hand ownership elsewhere.
public struct OwnedFD: ~Copyable {
    public let raw: Int32

    /// Takes ownership of `raw`; it will be closed by `deinit` unless `take()`n.
    public init(adopting raw: Int32) {
        self.raw = raw
    }

    /// Gives up ownership without closing: the caller now owns the number.
    public consuming func take() -> Int32 {
        let fd = raw
        discard self
        return fd
    }

    /// Closes now, reporting the `close(2)` error (EIO on some filesystems) instead of dropping it.
    public consuming func close() throws(SystemError) {
        let fd = take()
        if Glibc.close(fd) != 0 && Glibc.errno != EINTR { throw SystemError.last("close") }
    }

    deinit {
        _ = Glibc.close(raw)
    }
}

extension Optional where Wrapped == OwnedFD {
    /// The raw number of a held fd, without consuming it (nil if none).
    public var raw: Int32? {
        switch self {
        case .some(let fd): fd.raw
        case .none: nil
        }
    }
}
