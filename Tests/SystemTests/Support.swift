import Glibc
import System
import Testing

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Runs `/bin/sh -c script` (tests only).
func sh(_ script: String, env: [String] = ["PATH=/usr/bin:/bin"], stdin: [UInt8] = [],
        enter: EnterSpec? = nil, timeoutMs: Int? = 20_000) throws -> SpawnResult {
    try Spawn.run(SpawnRequest(path: "/bin/sh", argv: ["sh", "-c", script], env: env, stdin: stdin,
                               enter: enter, timeoutMs: timeoutMs))
}

let isRoot = Identity.euid == 0
