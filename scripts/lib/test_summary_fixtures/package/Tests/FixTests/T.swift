import Foundation
import Testing
import XCTest

let mode = ProcessInfo.processInfo.environment["FIX_MODE"] ?? "green"

@Suite struct S {
  @Test func a() { #expect(1 == 1) }
  @Test func b() { #expect(mode != "red", "red b") }
  @Test(arguments: [1, 2]) func p(n: Int) { #expect(n > 0) }
  @Test func known() { withKnownIssue { #expect(mode == "never") } }
  @Test func crash() { if mode == "crash" { fatalError("boom") } }
  @Test(.disabled("skipped on purpose")) func skipped() {}
}

final class X: XCTestCase {
  func testOK() { XCTAssertEqual(1, 1) }
  func testRed() { if mode == "red" { XCTFail("xctest red") } }
}
