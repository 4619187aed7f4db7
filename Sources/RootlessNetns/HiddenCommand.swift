/// The internal programs of the `rootless-netns` executable (argv[1]), re-exec'd by the plugin
/// itself: never part of the CLI, listed here so none is added behind the others' back.
enum HiddenCommand: String, CaseIterable {
    /// The port forwarder inside the shared namespace: `__forwarder SOCKET`.
    case forwarder = "__forwarder"
    /// sysctl writes inside the shared namespace: `__sysctl key=value...` (see NetnsSysctl).
    case sysctl = "__sysctl"
}
