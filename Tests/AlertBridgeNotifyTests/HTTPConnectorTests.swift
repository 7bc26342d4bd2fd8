import AlertBridgeCore
@testable import AlertBridgeNotify
import AlertBridgeStore
import Foundation
import Synchronization
import Testing

/// Slack, Teams and webhook connectors against a local HTTP receiver, alone and
/// driven by the dispatcher over a temporary SQLite store with a manual clock.
@Suite struct HTTPConnectorTests {
    /// Patient: the receiver runs in this process, on the pool the suite's CPU-bound tests
    /// share, and in a clean-clone CI run it once answered a 429 after the 10 s this had,
    /// so the page was retried on the back-off instead of its `Retry-After`. No test here
    /// waits for this timeout to pass.
    let transport = CurlTransport(connectTimeout: .seconds(10), totalTimeout: .seconds(60))

    func deliver(_ connector: some Connector, _ page: PageMessage) async -> DeliveryError? {
        do throws(DeliveryError) {
            _ = try await connector.deliver(page)
            return nil
        } catch {
            return error
        }
    }

    /// Only HTTP is fetched: a `file://` URL (a typo, or a connector URL from the wrong
    /// variable) is refused by libcurl, never read.
    @Test func onlyHTTPURLsAreFetched() async throws {
        await #expect(throws: TransportError.self) {
            _ = try await CurlTransport().request("GET", url: "file:///etc/hostname", headers: [], body: nil, maxResponseBytes: 1024)
        }
        do {
            _ = try await CurlTransport().request("GET", url: "file:///etc/hostname", headers: [], body: nil, maxResponseBytes: 1024)
        } catch {
            #expect(error.kind == .invalidRequest, "\(error)")
        }
    }

    @Test func slackReceivesBlockKitJSON() async throws {
        try await HTTPReceiver.with { (receiver: HTTPReceiver, base: String) async throws in
            let slack = ChatConnector.slack(webhookURL: base + "/services/T0/B0/XYZ", transport: transport)
            #expect(await deliver(slack, Pages.page(title: Pages.korean)) == nil)
            let request = try #require(receiver.requests.first)
            #expect(request.path == "/services/T0/B0/XYZ")
            #expect(request.headers["content-type"] == "application/json; charset=utf-8")
            let json = try #require(request.json)
            #expect(json == SlackMessage.payload(Pages.page(title: Pages.korean)))
            #expect(json["blocks"]?[0]?["text"]?["text"]?.stringValue?.contains("엣지 지연") == true)
        }
    }

    @Test func teamsReceivesAnAdaptiveCard() async throws {
        try await HTTPReceiver.with { (receiver: HTTPReceiver, base: String) async throws in
            receiver.script("/workflows/abc", [.init(status: 202, body: "")])  // what Workflows answers
            let teams = ChatConnector.teams(webhookURL: base + "/workflows/abc", transport: transport)
            #expect(await deliver(teams, Pages.page()) == nil)
            let json = try #require(receiver.requests.first?.json)
            #expect(json["attachments"]?[0]?["contentType"] == "application/vnd.microsoft.card.adaptive")
            #expect(json["attachments"]?[0]?["content"]?["type"] == "AdaptiveCard")
        }
    }

    @Test func webhookBodyIsSignedAndTheSignatureVerifies() async throws {
        try await HTTPReceiver.with { (receiver: HTTPReceiver, base: String) async throws in
            let clock = ManualClock(Timestamp(seconds: 1_795_457_100))
            let hook = WebhookConnector(url: base + "/hook", secret: "topsecret", transport: transport, clock: clock)
            #expect(await deliver(hook, Pages.page(deliveryID: 19)) == nil)
            let request = try #require(receiver.requests.first)
            let timestamp = try #require(request.headers["x-alertbridge-timestamp"])
            let signature = try #require(request.headers["x-alertbridge-signature"])
            #expect(timestamp == "1795457100")
            #expect(signature.hasPrefix("sha256="))
            #expect(WebhookSignature.verify(body: request.body, timestamp: timestamp, signature: signature,
                                            secret: "topsecret", now: 1_795_457_130))
            #expect(!WebhookSignature.verify(body: request.body, timestamp: timestamp, signature: signature,
                                             secret: "wrong", now: 1_795_457_130))
            #expect(request.headers["x-alertbridge-delivery"] == "19")
            #expect(request.headers["x-alertbridge-event"] == "triggered")
            let json = try #require(request.json)
            #expect(json["event"] == "triggered")
            #expect(json["incident"]?["id"] == 42)
            #expect(json["delivery"]?["tier_name"] == "technical-support")

            // Without a secret: no signature header, still a timestamp.
            let unsigned = WebhookConnector(url: base + "/plain", secret: nil, transport: transport, clock: clock)
            #expect(await deliver(unsigned, Pages.page()) == nil)
            #expect(receiver.requests(to: "/plain").first?.headers["x-alertbridge-signature"] == nil)
        }
    }

    @Test func retriesThrough503sToExactlyOneDelivery() async throws {
        try await HTTPReceiver.with { (receiver: HTTPReceiver, base: String) async throws in
            receiver.script("/hook", [.init(status: 503, body: "busy"), .init(status: 503, body: "busy")])
            try await TestStore.with(targets: [.init(connector: "hook")]) { (t: TestStore) async throws in
                let id = try await t.newIncident("a")
                let clock = ManualClock(Pages.t0)
                let d = t.dispatcher(["hook": WebhookConnector(url: base + "/hook", secret: "s", transport: transport)],
                                     clock: clock)
                #expect(try await d.tick() == 1)                // 503
                #expect(try await d.tick() == 0)                // not before the backoff
                clock.advance(by: .seconds(2))
                #expect(try await d.tick() == 1)                // 503 again
                clock.advance(by: .seconds(4))
                #expect(try await d.tick() == 1)                // 200
                clock.advance(by: .seconds(3600))
                #expect(try await d.tick() == 0)
                #expect(try await t.store.nextDeliveryDue(excluding: []) == nil)
                let requests = receiver.requests(to: "/hook")
                #expect(requests.count == 3)
                #expect(Set(requests.compactMap { $0.headers["x-alertbridge-delivery"] }).count == 1)
                #expect(requests.compactMap { $0.json?["delivery"]?["attempt"]?.intValue } == [1, 2, 3])
                // The first failure is on the timeline; the retries are not, and nothing failed for good.
                let failures = try await t.failures(id)
                #expect(failures.count == 1 && failures[0].hasSuffix("; retrying"), "\(failures)")
            }
        }
    }

    @Test func a429RetryAfterIsHonoured() async throws {
        try await HTTPReceiver.with { (receiver: HTTPReceiver, base: String) async throws in
            receiver.script("/slack", [.init(status: 429, headers: ["Retry-After": "30"], body: "rate_limited")])
            try await TestStore.with(targets: [.init(connector: "chat")]) { (t: TestStore) async throws in
                try await t.newIncident("a")
                let clock = ManualClock(Pages.t0)
                let d = t.dispatcher(["chat": ChatConnector.slack(webhookURL: base + "/slack", transport: transport)], clock: clock)
                #expect(try await d.tick() == 1)
                clock.advance(by: .seconds(29))                 // backoff alone would retry after 2 s
                #expect(try await d.tick() == 0)
                clock.advance(by: .seconds(1))
                #expect(try await d.tick() == 1)
                #expect(receiver.requests(to: "/slack").count == 2)
                #expect(try await t.store.nextDeliveryDue(excluding: []) == nil)
            }
        }
    }

    @Test func a400IsNotRetriedAndIsOnTheTimeline() async throws {
        try await HTTPReceiver.with { (receiver: HTTPReceiver, base: String) async throws in
            receiver.script("/slack", [.init(status: 400, body: "invalid_payload")])
            try await TestStore.with(targets: [.init(connector: "chat")]) { (t: TestStore) async throws in
                let id = try await t.newIncident("a")
                let clock = ManualClock(Pages.t0)
                let d = t.dispatcher(["chat": ChatConnector.slack(webhookURL: base + "/slack", transport: transport)], clock: clock)
                #expect(try await d.tick() == 1)
                for _ in 0..<5 {
                    clock.advance(by: .seconds(600))
                    #expect(try await d.tick() == 0)
                }
                #expect(receiver.requests(to: "/slack").count == 1)
                #expect(try await t.failures(id) == ["tier 1 via chat: HTTP 400: invalid_payload"])
            }
        }
    }

    @Test func pagesSurviveAReceiverOutageAndArriveExactlyOnce() async throws {
        let port = try await HTTPReceiver.closedPort()
        let url = "http://127.0.0.1:\(port)/hook"
        try await TestStore.with(targets: [.init(connector: "hook")]) { (t: TestStore) async throws in
            var ids: [Int64] = []
            for n in 0..<5 { ids.append(try await t.newIncident("k\(n)")) }
            let clock = ManualClock(Pages.t0)
            let d = t.dispatcher(["hook": WebhookConnector(url: url, secret: "s", transport: transport)], clock: clock,
                                 backoff: Backoff(initial: .seconds(2), maximum: .seconds(60), maxAge: .seconds(3600)))
            // Down for ten minutes: every attempt is refused and rescheduled.
            var attempts = 0
            for _ in 0..<20 {
                attempts += try await d.tick()
                clock.advance(by: .seconds(30))
            }
            #expect(attempts > 5)
            #expect(try await t.store.nextDeliveryDue(excluding: []) != nil)
            // Back up on the same port.
            try await HTTPReceiver.with(port: port) { (receiver: HTTPReceiver, _: String) async throws in
                for _ in 0..<10 {
                    try await d.tick()
                    clock.advance(by: .seconds(60))
                }
                let requests = receiver.requests(to: "/hook")
                let incidents = requests.compactMap { $0.json?["incident"]?["id"]?.intValue }
                #expect(incidents.sorted() == ids.sorted(), "each page once: \(incidents)")
                #expect(try await t.store.nextDeliveryDue(excluding: []) == nil)
            }
            for id in ids {
                let failures = try await t.failures(id)
                #expect(failures.count == 1 && failures[0].hasSuffix("; retrying"), "\(failures)")
            }
        }
    }

    /// A receiver back from an outage gets every page that waited for it as soon as one
    /// delivery to it succeeds, oldest first, not each after the rest of its back-off:
    /// after a mail outage the page that opened an incident arrived a minute after the
    /// notices decided while it waited (black-box round 16).
    @Test func pagesWaitingForAReceiverGoOutOnceItDeliversAgain() async throws {
        let port = try await HTTPReceiver.closedPort()
        try await TestStore.with(targets: [.init(connector: "hook")]) { (t: TestStore) async throws in
            var waiting: [Int64] = []
            for n in 0..<4 { waiting.append(try await t.newIncident("k\(n)")) }
            let clock = ManualClock(Pages.t0)
            let d = t.dispatcher(["hook": WebhookConnector(url: "http://127.0.0.1:\(port)/hook", secret: nil, transport: transport)],
                                 clock: clock, backoff: Backoff(initial: .seconds(60), maximum: .seconds(300), maxAge: .seconds(3600)))
            #expect(try await d.tick() == 4)  // refused: each waits a minute
            clock.advance(by: .seconds(5))
            let later = try await t.newIncident("k4", at: Pages.t0 + .seconds(5))
            try await HTTPReceiver.with(port: port) { (receiver: HTTPReceiver, _: String) async throws in
                #expect(try await d.tick() == 1, "only the new page is due")
                // It went out: the four waiting pages are due now, 55 s before their time.
                #expect(try await d.tick() == 4)
                let incidents = receiver.requests(to: "/hook").compactMap { $0.json?["incident"]?["id"]?.intValue }.map { Int64($0) }
                #expect(incidents.first == later && incidents.dropFirst().sorted() == waiting.sorted(), "\(incidents)")
                #expect(try await t.store.nextDeliveryDue(excluding: []) == nil)
            }
        }
    }

    /// The same on a fleet: pages one instance saw fail go out as soon as another delivers
    /// to their receiver. They kept their back-off (up to 5 minutes after the outage ended)
    /// unless the instance that recorded their failure delivered again (black-box round 25).
    @Test func pagesAnotherInstanceSawFailGoOutOnceThisOneDelivers() async throws {
        let port = try await HTTPReceiver.closedPort()
        try await TestStore.with(targets: [.init(connector: "hook")]) { (t: TestStore) async throws in
            var waiting: [Int64] = []
            for n in 0..<3 { waiting.append(try await t.newIncident("k\(n)")) }
            let clock = ManualClock(Pages.t0)
            func instance() -> Dispatcher {
                t.dispatcher(["hook": WebhookConnector(url: "http://127.0.0.1:\(port)/hook", secret: nil, transport: transport)],
                             clock: clock, backoff: Backoff(initial: .seconds(60), maximum: .seconds(300), maxAge: .seconds(3600)))
            }
            let (first, second) = (instance(), instance())
            #expect(try await first.tick() == 3)  // refused: each waits a minute
            clock.advance(by: .seconds(5))
            let later = try await t.newIncident("k3", at: Pages.t0 + .seconds(5))
            try await HTTPReceiver.with(port: port) { (receiver: HTTPReceiver, _: String) async throws in
                #expect(try await second.tick() == 1, "only the new page is due")
                #expect(try await second.tick() == 3, "the pages the first instance saw fail, 55 s before their time")
                let incidents = receiver.requests(to: "/hook").compactMap { $0.json?["incident"]?["id"]?.intValue }.map { Int64($0) }
                #expect(incidents.first == later && incidents.dropFirst().sorted() == waiting.sorted(), "\(incidents)")
                #expect(try await t.store.nextDeliveryDue(excluding: []) == nil)
            }
        }
    }

    /// Two pages of one incident that waited out an outage arrive in the order they were
    /// decided once the receiver is back, the first page answered before the acknowledge
    /// notice is sent: sent at once, they reached a chat channel in any order, the
    /// ESCALATED page before the page that opened the incident (black-box round 20).
    @Test(arguments: [false, true])
    func anIncidentsWaitingPagesArriveOldestFirst(firstHangs: Bool) async throws {
        let port = try await HTTPReceiver.closedPort()
        try await TestStore.with(targets: [.init(connector: "hook")]) { (t: TestStore) async throws in
            let clock = ManualClock(Pages.t0)
            // Room for a loaded machine, where the full suite keeps Swift's pool busy: the
            // first send reaches the receiver within the patience (it once took over 2 s, and
            // in a slow phase of the host over 5 s, and the second page arrived first), and
            // the hang ends well inside the timeout.
            let patient = CurlTransport(connectTimeout: .seconds(10), totalTimeout: .seconds(60))
            let d = t.dispatcher(["hook": WebhookConnector(url: "http://127.0.0.1:\(port)/hook", secret: nil, transport: patient)],
                                 clock: clock, backoff: Backoff(initial: .seconds(60), maximum: .seconds(300), maxAge: .seconds(3600)),
                                 threadPatience: .seconds(15))
            let held = try await t.newIncident("k0")
            #expect(try await d.tick() == 1)  // refused: waits a minute
            _ = try await t.store.act(.acknowledge(by: "alice", note: nil), on: held, now: Pages.t0 + .seconds(1))
            clock.advance(by: .seconds(1))
            #expect(try await d.tick() == 1)  // the notice, refused too
            clock.advance(by: .seconds(5))
            let later = try await t.newIncident("k1", at: Pages.t0 + .seconds(6))
            let log = EventLog()
            let receiver = HTTPReceiver(log: log)
            // Slow answers: two pages sent at once would both be received before either is
            // answered. One that hangs (until the test opens `hang`) holds the next page only
            // for `threadPatience`: a thread of seven must not keep its last past the claim's lease.
            let hang = Gate()
            defer { hang.open() }
            receiver.script("/hook", [.init(status: 200),
                                      firstHangs ? .init(status: 200, gate: hang) : .init(status: 200, delay: .milliseconds(300)),
                                      .init(status: 200, delay: .milliseconds(300))])
            try await HTTPReceiver.with(port: port, receiver: receiver) { (receiver: HTTPReceiver, _: String) async throws in
                #expect(try await d.tick() == 1, "only the new page is due")
                if firstHangs {
                    async let waiting = d.tick()
                    #expect(try await eventually(timeout: .seconds(60)) { receiver.requests(to: "/hook").count == 3 },
                            "the second waiting page goes once the first has hung for the thread's patience")
                    hang.open()
                    #expect(try await waiting == 2, "the two waiting pages")
                } else {
                    #expect(try await d.tick() == 2, "the two waiting pages, at once")
                }
                let events = receiver.requests(to: "/hook").compactMap { request -> (Int, String)? in
                    guard let id = request.json?["incident"]?["id"]?.intValue.map(Int.init), let event = request.json?["event"]?.stringValue else { return nil }
                    return (id, event)
                }
                #expect(events.map(\.0) == [Int(later), Int(held), Int(held)])
                #expect(events.dropFirst().map(\.1) == ["triggered", "acknowledged"], "\(events)")
                let expected = firstHangs ? ["received /hook", "received /hook", "answered /hook", "answered /hook"]
                                          : ["received /hook", "answered /hook", "received /hook", "answered /hook"]
                #expect(log.all.suffix(4) == expected, "\(log.all)")
            }
        }
    }

    /// A retry sooner than the dispatcher's idle wait goes out at its time: the loop slept
    /// until its next look (5 s, past `max_age` for a page's last attempt), since the page
    /// was in flight, not due, when it last looked (black-box round 20).
    @Test func aRetryGoesOutAtItsTimeNotAtTheNextIdleLook() async throws {
        try await HTTPReceiver.with { (receiver: HTTPReceiver, base: String) async throws in
            receiver.script("/hook", [.init(status: 503)])
            try await TestStore.with(targets: [.init(connector: "hook")]) { (t: TestStore) async throws in
                let clock = SystemClock()
                let wakeup = Wakeup()
                let d = t.dispatcher(["hook": WebhookConnector(url: base + "/hook", secret: nil, transport: transport)], clock: clock,
                                     backoff: Backoff(initial: .milliseconds(300), maximum: .seconds(1), maxAge: .seconds(3600)),
                                     wakeup: wakeup, idle: .seconds(120))
                try await t.newIncident("k0", at: clock.now())
                try await withThrowingTaskGroup(of: Void.self) { (group: inout ThrowingTaskGroup<Void, any Error>) async throws in
                    group.addTask { try await d.run() }
                    // Refused once, retried 300 ms later: well inside the deadline, where the
                    // loop's idle look would come after two minutes.
                    #expect(try await eventually(timeout: .seconds(30)) { receiver.requests(to: "/hook").count == 2 })
                    #expect(try await eventually { try await t.store.nextDeliveryDue(excluding: []) == nil })
                    group.cancelAll()
                }
            }
        }
    }

    /// A receiver that said when to come back (`Retry-After`) is not asked again before
    /// then because another of its deliveries succeeded.
    @Test func aPageARetryAfterHoldsWaitsOutItsTime() async throws {
        try await HTTPReceiver.with { (receiver: HTTPReceiver, base: String) async throws in
            receiver.script("/hook", [.init(status: 429, headers: ["Retry-After": "120"])])
            try await TestStore.with(targets: [.init(connector: "hook")]) { (t: TestStore) async throws in
                let held = try await t.newIncident("k0")
                let clock = ManualClock(Pages.t0)
                let d = t.dispatcher(["hook": WebhookConnector(url: base + "/hook", secret: nil, transport: transport)], clock: clock)
                #expect(try await d.tick() == 1)
                #expect(try await t.failures(held).count == 1)
                _ = try await t.newIncident("k1")
                #expect(try await d.tick() == 1)  // delivered: the connector delivers again
                #expect(try await d.tick() == 0, "the 429's page waits its 120 s")
                clock.advance(by: .seconds(120))
                #expect(try await d.tick() == 1)
                #expect(receiver.requests(to: "/hook").count == 3)
            }
        }
    }

    /// A receiver that failed and now hangs, with more pages than there are delivery slots:
    /// it never holds more than its share of them (2 of 8), so another connector's pages
    /// all go out meanwhile. (Without the share it took every slot, and the other pages
    /// waited for its timeouts.)
    @Test func aFailingReceiverHoldsOnlyItsShareOfTheSlots() async throws {
        let log = EventLog()
        try await HTTPReceiver.with(receiver: HTTPReceiver(log: log)) { (receiver: HTTPReceiver, base: String) async throws in
            // Hung until every other page went out.
            let hang = Gate()
            defer { hang.open() }
            receiver.script("/hung", [.init(status: 503)] + Array(repeating: .init(status: 200, gate: hang), count: 12))
            try await TestStore.with(targets: [.init(connector: "hung"), .init(connector: "fast")]) { (t: TestStore) async throws in
                let wakeup = Wakeup()
                let hung = WebhookConnector(url: base + "/hung", secret: nil, transport: transport)
                let fast = Logged(name: "fast", log: log, inner: WebhookConnector(url: base + "/fast", secret: nil, transport: transport))
                let d = t.dispatcher(["hung": hung, "fast": fast], clock: ManualClock(Pages.t0), wakeup: wakeup, maxInFlight: 8)
                let first = try await t.newIncident("k0")
                try await withThrowingTaskGroup(of: Void.self) { (group: inout ThrowingTaskGroup<Void, any Error>) async throws in
                    group.addTask { try await d.run() }
                    // Its first page refused: it is failing from now on. (Bounds for a loaded
                    // machine: in a full test run the first delivery once took over 10 s.)
                    #expect(try await eventually(timeout: .seconds(60)) { try await t.failures(first).count == 1 })
                    for i in 1...11 { _ = try await t.newIncident("k\(i)") }
                    wakeup.signal()
                    #expect(try await eventually(timeout: .seconds(60)) { log.all.filter { $0 == "delivered fast" }.count == 12 })
                    #expect(try await eventually(timeout: .seconds(60)) { receiver.requests(to: "/hung").count == 3 })
                    hang.open()
                    group.cancelAll()
                }
                // In flight at the receiver, by its own log: received minus answered, while it
                // was failing (its first 200, after the 503, ends that, and its share with it).
                let events = log.all
                let answers = events.indices.filter { events[$0] == "answered /hung" }
                var hanging = 0, most = 0
                for event in events.prefix(upTo: answers.count > 1 ? answers[1] : events.endIndex) {
                    if event == "received /hung" { hanging += 1; most = max(most, hanging) }
                    if event == "answered /hung" { hanging -= 1 }
                }
                #expect(most == 2, "its share: \(log.all)")
            }
        }
    }

    @Test func aSlowReceiverDoesNotHoldUpOtherPages() async throws {
        let log = EventLog()
        try await HTTPReceiver.with(receiver: HTTPReceiver(log: log)) { (receiver: HTTPReceiver, base: String) async throws in
            // Slow: it answers once both fast pages went out (or, if they wait for it, never).
            let slowness = Gate()
            defer { slowness.open() }
            receiver.script("/slow", [.init(status: 200, gate: slowness), .init(status: 200, gate: slowness)])
            let patient = CurlTransport(connectTimeout: .seconds(10), totalTimeout: .seconds(60))
            try await TestStore.with(targets: [.init(connector: "slow"), .init(connector: "fast")]) { (t: TestStore) async throws in
                let wakeup = Wakeup()
                let slow = WebhookConnector(url: base + "/slow", secret: nil, transport: patient)
                let fast = Logged(name: "fast", log: log, inner: WebhookConnector(url: base + "/fast", secret: nil, transport: patient))
                let d = t.dispatcher(["slow": slow, "fast": fast], clock: ManualClock(Pages.t0), wakeup: wakeup)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await d.run() }
                    try await t.newIncident("first")
                    wakeup.signal()
                    #expect(try await eventually(timeout: .seconds(60)) { log.index(of: "received /slow") != nil })
                    // A page written while the slow delivery is in flight goes out at once.
                    try await t.newIncident("second")
                    wakeup.signal()
                    #expect(try await eventually(timeout: .seconds(60)) { log.all.filter { $0 == "delivered fast" }.count == 2 })
                    slowness.open()
                    #expect(try await eventually(timeout: .seconds(60)) { log.all.filter { $0 == "answered /slow" }.count == 2 })
                    // Every delivery recorded: nothing pending in the outbox.
                    #expect(try await eventually { try await t.store.nextDeliveryDue(excluding: []) == nil })
                    group.cancelAll()
                }
            }
        }
    }
}

/// Logs `delivered NAME` when its connector's delivery succeeded.
struct Logged: Connector {
    let name: String
    let log: EventLog
    let inner: any Connector

    func deliver(_ page: PageMessage) async throws(DeliveryError) -> Delivered {
        let delivered = try await inner.deliver(page)
        log.append("delivered \(name)")
        return delivered
    }
}
