import AlertBridgeCore
@testable import AlertBridgeNotify
import AlertBridgeStore
import Foundation
import MetricsTestKit
import Testing

/// The smtp connector against a real SMTP server (aiosmtpd).
@Suite(.enabled(if: SMTPSink.available || requireAll, "\(SMTPSink.unavailableReason)"))
struct SMTPConnectorTests {
    let from = "Alertbridge <alertbridge@example.com>"

    func connector(_ url: String, _ sink: SMTPSink, startTLS: StartTLS = .none, user: String? = nil,
                   password: String? = nil) -> SMTPConnector {
        SMTPConnector(settings: .init(url: url, from: from, username: user, password: password, startTLS: startTLS),
                      transport: CurlTransport(connectTimeout: .seconds(5), totalTimeout: .seconds(15), caFile: sink.certificate),
                      clock: ManualClock(Pages.t0))
    }

    func deliver(_ connector: SMTPConnector, _ page: PageMessage) async -> DeliveryError? {
        do throws(DeliveryError) {
            _ = try await connector.deliver(page)
            return nil
        } catch {
            return error
        }
    }

    @Test func deliversAThreadedKoreanPageWithProperHeaders() async throws {
        try await SMTPSink.with { (sink: SMTPSink) async throws in
            let mail = connector(sink.url, sink)
            let first = Pages.page(.triggered, step: 1, title: Pages.korean, recipients: ["noc@example.com", "lead@example.com"])
            let second = Pages.page(.escalated, step: 2, tier: 2, deliveryID: 8, title: Pages.korean,
                                    recipients: ["rnd-oncall@example.com"])
            #expect(await deliver(mail, first) == nil)
            #expect(await deliver(mail, second) == nil)

            let received = try sink.received()
            try #require(received.count == 2, "server log:\n\(sink.log)")
            let (a, b) = (received[0], received[1])
            #expect(a.mailFrom == "alertbridge@example.com")
            #expect(a.recipients == ["noc@example.com", "lead@example.com"])
            #expect(b.recipients == ["rnd-oncall@example.com"])
            #expect(a.header("Date") == "Mon, 23 Nov 2026 18:05:00 +0000")
            #expect(a.header("From") == "Alertbridge <alertbridge@example.com>")
            #expect(a.header("To") == "noc@example.com, lead@example.com")
            #expect(a.header("Message-ID") == "<incident-42.1795457100000@alertbridge.example.com>")
            #expect(a.header("MIME-Version") == "1.0")
            #expect(a.header("Content-Type") == "text/plain; charset=utf-8")

            // Korean subject: RFC 2047 on the wire, the original after decoding.
            let subject = try #require(a.header("Subject"))
            #expect(subject.hasPrefix("=?UTF-8?B?"))
            #expect(MailDecoding.decodeEncodedWords(subject) == "[CRITICAL] ICN1 cdn-edge: \(Pages.korean) (#42)")
            #expect(MailDecoding.decodeEncodedWords(try #require(b.header("Subject")))
                    == "ESCALATED [CRITICAL] ICN1 cdn-edge: \(Pages.korean) (#42)")

            // UTF-8 body, as sent.
            let body = try #require(MailDecoding.decodeQuotedPrintable(a.body))
            #expect(body.contains("What:     \(Pages.korean)"))
            #expect(body.contains("Where:    pop ICN1, region apac, service cdn-edge"))
            #expect(body.contains("Acknowledge: alertbridge ack 42"))

            // Threading: the escalation answers the first page.
            #expect(b.header("In-Reply-To") == a.header("Message-ID"))
            #expect(b.header("References") == a.header("Message-ID"))
            #expect(b.header("Message-ID") != a.header("Message-ID"))
        }
    }

    @Test func aLineStartingWithADotSurvivesDotStuffing() async throws {
        try await SMTPSink.with { (sink: SMTPSink) async throws in
            let page = Pages.page(title: "x\n.\nstill here")  // a lone "." line would end DATA if not stuffed
            #expect(await deliver(connector(sink.url, sink), page) == nil)
            let received = try sink.received()
            try #require(received.count == 1)
            #expect(MailDecoding.decodeQuotedPrintable(received[0].body)?.contains("Acknowledge: alertbridge ack 42") == true)
        }
    }

    @Test func authenticatesWithCredentials() async throws {
        var options = SMTPSink.Options()
        options.auth = ("alertbridge", "s3cret")
        options.authRequiresTLS = false
        try await SMTPSink.with(options) { (sink: SMTPSink) async throws in
            #expect(await deliver(connector(sink.url, sink, user: "alertbridge", password: "s3cret"), Pages.page()) == nil)
            #expect(try sink.received().first?.authenticatedAs == "alertbridge")

            let wrong = await deliver(connector(sink.url, sink, user: "alertbridge", password: "nope"), Pages.page())
            guard case .permanent(let why) = wrong else { Issue.record("wrong password: \(String(describing: wrong))"); return }
            #expect(why == "AUTH refused: 535 5.7.8 Authentication credentials invalid", "\(why)")

            let anonymous = await deliver(connector(sink.url, sink), Pages.page())
            guard case .permanent(let why) = anonymous else { Issue.record("no credentials: \(String(describing: anonymous))"); return }
            #expect(why == "MAIL FROM refused: 530 5.7.0 Authentication required", "\(why)")
            #expect(try sink.received().count == 1)

            // `optional` (the default) never sends credentials in plain text: against a
            // server that offers no STARTTLS it fails and says why (black-box round 28:
            // the password went out in the clear).
            let clear = await deliver(connector(sink.url, sink, startTLS: .optional, user: "alertbridge", password: "s3cret"), Pages.page())
            guard case .permanent(let refusal) = clear else { Issue.record("optional: \(String(describing: clear))"); return }
            #expect(refusal.contains("does not offer STARTTLS") && refusal.contains("starttls: none sends them so"), "\(refusal)")
            #expect(try sink.received().count == 1)
        }
    }

    @Test func startTLSRequiredWithAuthOverTheEncryptedSession() async throws {
        var options = SMTPSink.Options()
        options.startTLS = true
        options.requireStartTLS = true
        options.auth = ("alertbridge", "s3cret")  // aiosmtpd only allows AUTH after STARTTLS
        try await SMTPSink.with(options) { (sink: SMTPSink) async throws in
            let mail = connector(sink.url, sink, startTLS: .required, user: "alertbridge", password: "s3cret")
            #expect(await deliver(mail, Pages.page()) == nil)
            let received = try sink.received()
            try #require(received.count == 1, "server log:\n\(sink.log)")
            #expect(received[0].tls)
            #expect(received[0].authenticatedAs == "alertbridge")

            // optional upgrades too when the server offers it.
            #expect(await deliver(connector(sink.url, sink, startTLS: .optional, user: "alertbridge", password: "s3cret"),
                                  Pages.page()) == nil)
            #expect(try sink.received().last?.tls == true)
        }
    }

    @Test func startTLSRequiredAgainstAServerWithoutItFailsPermanentlyAndSaysWhy() async throws {
        try await SMTPSink.with { (sink: SMTPSink) async throws in
            let failure = await deliver(connector(sink.url, sink, startTLS: .required), Pages.page())
            guard case .permanent(let why) = failure else { Issue.record("got \(String(describing: failure))"); return }
            #expect(why.contains("does not offer STARTTLS"), "\(why)")
            #expect(why.contains("starttls: required"))
            #expect(try sink.received().isEmpty)
            // optional falls back to plain text.
            #expect(await deliver(connector(sink.url, sink, startTLS: .optional), Pages.page()) == nil)
            #expect(try sink.received().first?.tls == false)
        }
    }

    @Test func anUntrustedCertificateFailsPermanently() async throws {
        var options = SMTPSink.Options()
        options.startTLS = true
        try await SMTPSink.with(options) { (sink: SMTPSink) async throws in
            let untrusting = SMTPConnector(settings: .init(url: sink.url, from: from, startTLS: .required),
                                           transport: CurlTransport(), clock: ManualClock(Pages.t0))
            let failure = await deliver(untrusting, Pages.page())
            guard case .permanent(let why) = failure else { Issue.record("got \(String(describing: failure))"); return }
            #expect(why.contains("certificate"), "\(why)")
        }
    }

    @Test func implicitTLSWithSMTPS() async throws {
        var options = SMTPSink.Options()
        options.implicitTLS = true
        try await SMTPSink.with(options) { (sink: SMTPSink) async throws in
            #expect(await deliver(connector(sink.smtpsURL, sink), Pages.page()) == nil)
            let received = try sink.received()
            try #require(received.count == 1, "server log:\n\(sink.log)")
            #expect(received[0].tls)
        }
    }

    @Test func aRejectedRecipientIsPermanentAndABusyMailboxTransient() async throws {
        try await SMTPSink.with { (sink: SMTPSink) async throws in
            let mail = connector(sink.url, sink)
            let rejected = await deliver(mail, Pages.page(recipients: ["reject-me@example.com"]))
            guard case .permanent(let why) = rejected else { Issue.record("550: \(String(describing: rejected))"); return }
            #expect(why == "the server refused every recipient: reject-me@example.com "
                    + "(550 5.1.1 <reject-me@example.com>: Recipient address rejected: User unknown)",
                    "the address and the server's own words, without libcurl's: \(why)")

            let busy = await deliver(mail, Pages.page(recipients: ["busy@example.com"]))
            guard case .transient(let reason, _) = busy else { Issue.record("451: \(String(describing: busy))"); return }
            #expect(reason == "the server refused every recipient: busy@example.com (451 4.3.0 Mailbox busy, try again later)",
                    "\(reason)")

            // A multi-line refusal is said whole, not by its last line (the URL alone).
            let rate = await deliver(mail, Pages.page(recipients: ["ratelimited@example.com"]))
            #expect(rate == .transient("the server refused every recipient: ratelimited@example.com (450 4.2.1 The user you "
                                       + "are trying to contact is receiving mail at a rate that prevents additional messages "
                                       + "from being delivered. Please resend later. https://support.example.com/mail/?p=ReceivingRate)"),
                    "\(String(describing: rate))")

            // Several, all refused: each is named with its reply; the last refusal was for now.
            let all = await deliver(mail, Pages.page(recipients: ["reject-old@example.com", "greylist-lead@example.com"]))
            #expect(all == .transient("the server refused every recipient: reject-old@example.com "
                                      + "(550 5.1.1 <reject-old@example.com>: Recipient address rejected: User unknown), "
                                      + "greylist-lead@example.com (451 4.7.1 Greylisted, try again later)"),
                    "\(String(describing: all))")
            // The other way round: the last refusal is for good, the first still for now.
            // The page is sent again, or the lead would never get it.
            let reversed = await deliver(mail, Pages.page(recipients: ["greylist-rnd@example.com", "reject-old@example.com"]))
            #expect(reversed == .transient("the server refused every recipient: "
                                           + "greylist-rnd@example.com (451 4.7.1 Greylisted, try again later), reject-old@example.com "
                                           + "(550 5.1.1 <reject-old@example.com>: Recipient address rejected: User unknown)"),
                    "\(String(describing: reversed))")

            // Refused after its data: the message, not an address, was refused.
            let spam = await deliver(mail, Pages.page(recipients: ["spamtrap@example.com"]))
            #expect(spam == .permanent("the server refused the message: 554 5.7.1 Message rejected as spam"),
                    "\(String(describing: spam))")
            #expect(try sink.received().isEmpty)
        }
    }

    /// A colleague who left must not stop the page for the rest of the list, and must be
    /// named: the page says who it did not reach, with the server's reply.
    @Test func aRejectedRecipientDoesNotStopTheOthersAndIsNamed() async throws {
        try await SMTPSink.with { (sink: SMTPSink) async throws in
            let delivered = try await connector(sink.url, sink).deliver(
                Pages.page(recipients: ["noc@example.com", "reject-me@example.com", "oncall@example.com"]))
            #expect(delivered.refused == [RefusedRecipient(
                address: "reject-me@example.com",
                reply: "550 5.1.1 <reject-me@example.com>: Recipient address rejected: User unknown")])
            #expect(delivered.refused.map(\.isTemporary) == [false])
            let received = try sink.received()
            #expect(received.count == 1)
            #expect(received.first?.recipients == ["noc@example.com", "oncall@example.com"])

            // Refused for now (451) while another took it: taken, and the refusal is temporary.
            let busy = try await connector(sink.url, sink).deliver(Pages.page(recipients: ["noc@example.com", "busy@example.com"]))
            #expect(busy.refused.map(\.address) == ["busy@example.com"])
            #expect(busy.refused.first?.reply.hasPrefix("451 ") == true, "\(busy)")
            #expect(busy.refused.map(\.isTemporary) == [true])
            #expect(try sink.received().count == 2)
            #expect(try await connector(sink.url, sink).deliver(Pages.page(recipients: ["noc@example.com"])) == .toAll)
        }
    }

    /// Greylisting, through the dispatcher and the store: the address refused for now gets
    /// the same message (same Message-ID) once the server takes it; the others get one copy
    /// only; an address refused for good is named and not tried again.
    @Test func aGreylistedRecipientGetsThePageLaterAndTheOthersOnlyOnce() async throws {
        try await SMTPSink.with { (sink: SMTPSink) async throws in
            let to = ["noc@example.com", "greylist-lead@example.com", "reject-old@example.com"]
            try await TestStore.with(targets: [.init(connector: "mail", to: to)]) { s in
                let id = try await s.newIncident("EdgeLatencyHigh/ICN1")
                let clock = ManualClock(Pages.t0)
                let d = s.dispatcher(["mail": connector(sink.url, sink)], clock: clock)
                #expect(try await d.tick() == 1)
                #expect(try sink.received().map(\.recipients) == [["noc@example.com"]])
                let failures = try await s.failures(id)
                #expect(failures.count == 1)
                #expect(failures.first?.hasPrefix("tier 1 via mail: refused greylist-lead@example.com (451 4.7.1 Greylisted") == true,
                        "\(failures)")
                #expect(failures.first?.contains("reject-old@example.com (550 ") == true, "\(failures)")
                #expect(failures.first?.hasSuffix("the page; the other recipients have it; retrying greylist-lead@example.com") == true,
                        "\(failures)")

                #expect(try await d.tick() == 0)  // not before the back-off
                clock.advance(by: .seconds(2))
                #expect(try await d.tick() == 1)
                let received = try sink.received()
                #expect(received.map(\.recipients) == [["noc@example.com"], ["greylist-lead@example.com"]])
                #expect(received.count == 2 && received[0].header("Message-ID") == received[1].header("Message-ID"))
                clock.advance(by: .seconds(3600))
                #expect(try await d.tick() == 0)
                let paged = try #require(try await s.store.incident(id: id)).timeline.filter { $0.kind == .paged }.compactMap(\.detail)
                #expect(paged.last == "tier 1 via mail: delivered the page to greylist-lead@example.com on attempt 2")
            }
        }
    }

    /// A recipient refused for now until the page is too old: the line that gives up names
    /// only that address and says the others have the page, and no page counts as failed.
    @Test func givingUpOnARefusedRecipientSaysTheOthersHaveThePage() async throws {
        try await SMTPSink.with { (sink: SMTPSink) async throws in
            try await TestStore.with(targets: [.init(connector: "mail", to: ["noc@example.com", "busy-lead@example.com"])]) { s in
                let id = try await s.newIncident("EdgeLatencyHigh/ICN1")
                let clock = ManualClock(Pages.t0)
                let metrics = TestMetrics()
                let d = s.dispatcher(["mail": connector(sink.url, sink)], clock: clock, backoff: Backoff(maxAge: .seconds(10)),
                                     metrics: metrics)
                for _ in 0..<8 {
                    try await d.tick()
                    clock.advance(by: .seconds(2))
                }
                #expect(try sink.received().map(\.recipients) == [["noc@example.com"]])
                let failures = try await s.failures(id)
                #expect(failures.count == 2, "\(failures)")
                #expect(failures.first?.hasSuffix("; retrying busy-lead@example.com") == true, "\(failures)")
                let last = try #require(failures.last)
                #expect(last.hasPrefix("tier 1 via mail: not delivered to busy-lead@example.com: gave up after "), "\(last)")
                #expect(last.contains(" over 10s: the server refused every recipient: busy-lead@example.com (451 "), "\(last)")
                #expect(last.hasSuffix("; the other recipients have it"), "\(last)")
                #expect(try await s.store.nextDeliveryDue(excluding: []) == nil)
                // The tier was paged: the one refused address is counted, no failed page, in the
                // metrics and in what `incidents` and `show` say (they said `1 page failed`).
                #expect(try metrics.expectCounter("alertbridge_pages_failed_total", [("connector", "mail")]).totalValue == 0)
                let incident = try #require(try await s.store.incident(id: id)).incident
                #expect(incident.escalation.tierPagedAt != nil)
                #expect(try await s.store.undeliveredPages(of: [incident]).isEmpty)
                #expect(try metrics.expectCounter("alertbridge_page_recipients_refused_total", [("connector", "mail")]).totalValue == 1)
            }
        }
    }

    /// Sent again to two addresses refused for now, one takes it and the other refuses it
    /// again, at `max_age`: the line says that address was given up on (it said nothing
    /// more than a refusal), and the metrics count one page delivered, not two, and each
    /// refused address once.
    @Test func aRefusalAtMaxAgeIsAGiveUpAndCountedOnce() async throws {
        try await SMTPSink.with { (sink: SMTPSink) async throws in
            let to = ["noc@example.com", "greylist-oncall@example.com", "busy-lead@example.com"]
            try await TestStore.with(targets: [.init(connector: "mail", to: to)]) { s in
                let id = try await s.newIncident("EdgeLatencyHigh/ICN1")
                let clock = ManualClock(Pages.t0)
                let metrics = TestMetrics()
                let d = s.dispatcher(["mail": connector(sink.url, sink)], clock: clock, backoff: Backoff(maxAge: .seconds(1)),
                                     metrics: metrics)
                try await d.tick()
                clock.advance(by: .seconds(5))
                try await d.tick()
                #expect(try sink.received().map(\.recipients) == [["noc@example.com"], ["greylist-oncall@example.com"]])
                let last = try #require(try await s.failures(id).last)
                #expect(last == "tier 1 via mail: refused busy-lead@example.com (451 4.3.0 Mailbox busy, try again later; "
                        + "gave up after 2 attempts over 5s) the page; the other recipients have it", "\(last)")
                #expect(try await s.store.nextDeliveryDue(excluding: []) == nil)
                #expect(try metrics.expectCounter("alertbridge_pages_delivered_total", [("connector", "mail")]).totalValue == 1)
                #expect(try metrics.expectCounter("alertbridge_page_recipients_refused_total", [("connector", "mail")]).totalValue == 2)
            }
        }
    }

    @Test func aServerThatIsNotThereIsTransient() async throws {
        let port = try await HTTPReceiver.closedPort()
        let mail = SMTPConnector(settings: .init(url: "smtp://127.0.0.1:\(port)", from: from),
                                 transport: CurlTransport(connectTimeout: .seconds(2)), clock: ManualClock(Pages.t0))
        let failure = await deliver(mail, Pages.page())
        guard case .transient = failure else { Issue.record("got \(String(describing: failure))"); return }
    }
}

/// How a multi-line SMTP reply reads on the timeline, and which code decides.
@Suite struct SMTPReplyTests {
    @Test func aMultiLineReplyIsSaidOnceWithItsLastLinesCode() {
        #expect(SMTPRefusal.reply(["550 5.1.1 <x@example.com>: unknown"]) == "550 5.1.1 <x@example.com>: unknown")
        #expect(SMTPRefusal.reply(["421-4.7.0 Try again later,", "421 4.7.0 closing connection."])
            == "421 4.7.0 Try again later, closing connection.")
        // Against RFC 5321, but seen: the last line's code is the one libcurl and the
        // retry decision (temporary or not) act on, so the text must lead with it.
        let mixed = SMTPRefusal.reply(["450-4.2.1 Mailbox full", "550 5.1.1 No such user"])
        #expect(mixed == "550 4.2.1 Mailbox full 5.1.1 No such user")
        #expect(!RefusedRecipient(address: "x@example.com", reply: mixed).isTemporary)
        #expect(SMTPRefusal.continues("250-PIPELINING") && !SMTPRefusal.continues("250 OK") && !SMTPRefusal.continues("250"))
    }
}
