import Glibc
import RootlessNetns

exit(RootlessNetnsMain.run(arguments: CommandLine.arguments))
