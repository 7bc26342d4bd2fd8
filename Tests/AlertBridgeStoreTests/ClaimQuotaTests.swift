import AlertBridgeStore
import Testing

/// How many rows one claim of the dispatcher may take.
@Suite struct ClaimQuotaTests {
    /// No connector failing: a storm's pages are claimed as many as there are free slots,
    /// in one writer transaction, not 16 at a time.
    @Test func withNothingCappedAClaimTakesEveryFreeSlot() {
        #expect(ClaimQuota(perConnector: 16).limit(64) == 64)
        #expect(ClaimQuota.none.limit(200) == 200)
    }

    /// A failing connector has 16 slots at most, also when none of its deliveries is in
    /// flight yet: a claim could be all its rows.
    @Test func aFailingConnectorLimitsAClaimToItsRoom() {
        #expect(ClaimQuota(perConnector: 16, inFlight: ["chat": 0]).limit(64) == 16)
        #expect(ClaimQuota(perConnector: 16, inFlight: ["chat": 10, "mail": 3]).limit(64) == 6)
        #expect(ClaimQuota(perConnector: 16, inFlight: ["chat": 15]).limit(64) == 1)
        #expect(ClaimQuota(perConnector: 16, inFlight: ["chat": 2]).limit(5) == 5)
    }

    /// A full connector's rows are left out of the claim, so it does not limit the rest.
    @Test func aFullConnectorIsLeftOutNotALimit() {
        let quota = ClaimQuota(perConnector: 16, inFlight: ["chat": 16, "mail": 4])
        #expect(quota.full == ["chat"])
        #expect(quota.limit(64) == 12)
        #expect(ClaimQuota(perConnector: 16, inFlight: ["chat": 16]).limit(64) == 64)
    }
}
