import CShim
import Glibc

/// What one non-blocking transfer did.
public enum Transfer: Equatable, Sendable {
    case moved(Int)
    /// Nothing to read / no room to write now.
    case wouldBlock
    case endOfFile
    case failed(Int32)

    /// The call is not supported for these fds (EINVAL/ENOSYS: splice on an unsuitable socket).
    public var isUnsupported: Bool {
        if case .failed(let e) = self { return e == EINVAL || e == ENOSYS }
        return false
    }

    init(_ n: Int) {
        if n > 0 { self = .moved(n) } else if n == 0 { self = .endOfFile }
        else if Int32(-n) == EAGAIN { self = .wouldBlock } else { self = .failed(Int32(-n)) }
    }
}

/// A non-blocking pipe (O_CLOEXEC|O_NONBLOCK), the kernel-side buffer `splice(2)` moves
/// socket pages through without copying them into user space.
public struct SplicePipe: ~Copyable {
    public let read: OwnedFD
    public let write: OwnedFD
    /// Bytes the pipe holds when full (F_GETPIPE_SZ).
    public let capacity: Int

    /// `size` > 0 asks for that capacity (F_SETPIPE_SZ, best effort; capped by pipe-max-size).
    public init(size: Int = 0) throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        let r = cshim_fwd_pipe(&fds, Int32(clamping: size))
        if r < 0 { throw SystemError(op: "pipe2", errno: -r) }
        capacity = Int(r)
        read = OwnedFD(adopting: fds[0])
        write = OwnedFD(adopting: fds[1])
    }
}

public enum Splice {
    /// `splice(2)` up to `max` bytes from `source` to `destination` (one of them a pipe),
    /// SPLICE_F_MOVE|SPLICE_F_NONBLOCK, EINTR retried.
    public static func move(from source: borrowing OwnedFD, to destination: borrowing OwnedFD, max: Int) -> Transfer {
        Transfer(cshim_fwd_splice(source.raw, destination.raw, max))
    }
}
