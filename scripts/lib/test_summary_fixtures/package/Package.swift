// swift-tools-version:6.0
import PackageDescription
let package = Package(name: "fix", targets: [
  .target(name: "Lib"),
  .testTarget(name: "FixTests", dependencies: ["Lib"]),
])
