import NetstatInspect
#if canImport(Glibc)
import Glibc
#endif

exit(NetstatInspect.main(arguments: CommandLine.arguments, environment: NetstatInspect.processEnvironment()))
