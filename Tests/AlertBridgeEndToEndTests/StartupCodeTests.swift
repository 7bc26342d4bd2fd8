@testable import alertbridge
import Foundation
import Testing

/// `alertbridge serve` gives back its binary's pages once it listens (`StartupCode`); here
/// the same advice on a file this test maps, read-only as a binary's code is. What it does
/// to a server's memory is measured by `bench/run`, whose every round starts a server
/// (peak RSS per scenario; bench/README.md, "Kept: start-up's code given back"): a test
/// suite that runs many processes of one binary at once says little about it, since the
/// kernel leaves alone the pages another process maps, and giving back this test process's
/// own binary stalled the tests beside it while they read their code back.
@Suite struct StartupCodeTests {
    @Test func aMappedFilesPagesLeaveMemoryWhenGivenBack() throws {
        let dir = try TemporaryDirectory("alertbridge-startup-code")
        defer { dir.remove() }
        let size = 4 << 20
        let fd = open(dir.path("code"), O_CREAT | O_RDWR | O_TRUNC, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }
        // As /proc/self/maps names it.
        let path = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")
        var chunk = [UInt8](repeating: 0x90, count: 1 << 16)
        for offset in stride(from: 0, to: size, by: chunk.count) {
            chunk[0] = UInt8(truncatingIfNeeded: offset >> 16)
            #expect(pwrite(fd, chunk, chunk.count, off_t(offset)) == chunk.count)
        }
        #expect(fsync(fd) == 0)  // clean pages, as a binary's are
        let base = try #require(mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0))
        #expect(base != MAP_FAILED)
        defer { munmap(base, size) }
        var sum = 0
        for offset in stride(from: 0, to: size, by: 4096) { sum &+= Int(base.load(fromByteOffset: offset, as: UInt8.self)) }
        #expect(sum > 0)
        let before = Self.resident(base, size)
        StartupCode.release(mappingsOf: path)
        let after = Self.resident(base, size)
        #expect(before >= size / 2, "\(before / 1024) KiB resident after reading every page")
        #expect(after * 8 < before, "\(before / 1024) KiB resident before, \(after / 1024) KiB after")
        // What is read again comes back, unchanged.
        #expect(base.load(fromByteOffset: 3 << 16, as: UInt8.self) == 3)
    }

    /// Bytes of the mapping at `base` in memory (`mincore`).
    static func resident(_ base: UnsafeMutableRawPointer, _ size: Int) -> Int {
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        var pages = [UInt8](repeating: 0, count: (size + pageSize - 1) / pageSize)
        guard mincore(base, size, &pages) == 0 else { return -1 }
        return pages.reduce(0) { $0 + Int($1 & 1) } * pageSize
    }
}
