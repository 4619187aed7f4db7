import System

/// The plugin's diagnostics: stderr, prefixed (stdout carries only the CNI result or error).
enum Stderr {
    static func write(_ bytes: [UInt8]) { StdIO.write(fd: 2, bytes) }
    static func log(_ text: String) { write(Array(("rootless-netns: " + text + "\n").utf8)) }
}
