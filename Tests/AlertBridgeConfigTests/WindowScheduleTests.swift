@testable import AlertBridgeConfig
import Testing

@Suite struct WindowScheduleTests {
    func schedule(_ text: String) throws -> WindowSchedule {
        try WindowSchedule.parse(text).get()
    }

    @Test func parsesTimesAndZone() throws {
        #expect(try schedule("18:00-23:00 Asia/Seoul")
                == WindowSchedule(startMinute: 1080, endMinute: 1380, timeZone: "Asia/Seoul"))
        #expect(try schedule("9:30-24:00 UTC").endMinute == 1440)
    }

    @Test(arguments: ["18:00-23:00", "18:00-23:00 Asia/Seoul extra", "1800-2300 UTC", "18:00-24:30 UTC",
                      "24:00-02:00 UTC", "18:60-23:00 UTC", "18:00--23:00 UTC", "-23:00 UTC", "１８:00-23:00 UTC"])
    func rejectsMalformedText(_ text: String) {
        #expect(WindowSchedule.parse(text) == .failure(.malformed))
    }

    @Test func rejectsUnknownZonesAndEmptyWindows() {
        #expect(WindowSchedule.parse("18:00-23:00 Asia/Seol") == .failure(.unknownTimeZone("Asia/Seol")))
        #expect(WindowSchedule.parse("06:00-06:00 UTC") == .failure(.empty))
    }

    @Test func overlapHandlesMidnight() throws {
        let night = try schedule("22:00-02:00 UTC")
        #expect(night.overlaps(try schedule("01:59-03:00 UTC")))
        #expect(night.overlaps(try schedule("23:00-23:30 UTC")))
        #expect(night.overlaps(try schedule("21:00-01:00 UTC")))
        #expect(!night.overlaps(try schedule("02:00-22:00 UTC")))
        #expect(!night.overlaps(try schedule("01:00-03:00 Asia/Seoul")))
        #expect(try schedule("00:00-24:00 UTC").overlaps(try schedule("12:00-12:01 UTC")))
    }
}
