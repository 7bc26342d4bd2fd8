import AlertBridgeCore
@testable import AlertBridgeNotify
import AlertBridgeStore
import Foundation
import Testing

/// Decoding as a mail client does, to check what the encoders produce.
enum MailDecoding {
    /// Joins the `=?UTF-8?B?...?=` words of a header value (whitespace between words is dropped).
    static func decodeEncodedWords(_ value: String) -> String? {
        var bytes: [UInt8] = []
        let words = value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" })
        for word in words {
            guard word.hasPrefix("=?UTF-8?B?"), word.hasSuffix("?="),
                  let data = Data(base64Encoded: String(word.dropFirst(10).dropLast(2))) else { return nil }
            bytes += data
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func decodeQuotedPrintable(_ text: String) -> String? {
        var bytes: [UInt8] = []
        let input = Array(text.replacingOccurrences(of: "=\r\n", with: "").utf8)
        var i = 0
        while i < input.count {
            if input[i] == UInt8(ascii: "=") {
                guard i + 2 < input.count, let byte = UInt8(String(decoding: input[i + 1...i + 2], as: UTF8.self), radix: 16) else {
                    return nil
                }
                bytes.append(byte)
                i += 3
            } else {
                bytes.append(input[i])
                i += 1
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

@Suite struct MailMessageTests {
    let from = "alertbridge@example.com"

    func headers(_ m: MailMessage) -> [String: String] {
        let head = m.text.components(separatedBy: "\r\n\r\n")[0].replacingOccurrences(of: "\r\n ", with: " ")
        var out: [String: String] = [:]
        for line in head.components(separatedBy: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            out[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    @Test func firstPageCarriesTheIncidentsRootMessageID() throws {
        let m = try MailMessage.render(Pages.page(.triggered, step: 1), from: from, now: Pages.t0)
        let h = headers(m)
        #expect(h["Message-ID"] == "<incident-42.1795457100000@alertbridge.example.com>")
        #expect(h["In-Reply-To"] == nil)
        #expect(h["References"] == nil)
        #expect(h["Date"] == "Mon, 23 Nov 2026 18:05:00 +0000")
        #expect(h["From"] == "alertbridge@example.com")
        #expect(h["To"] == "noc@example.com")
        #expect(h["Subject"] == "[CRITICAL] ICN1 cdn-edge: p95 latency 1.4s at ICN1 (threshold 800ms) (#42)")
        #expect(h["MIME-Version"] == "1.0")
        #expect(h["Content-Type"] == "text/plain; charset=utf-8")
        #expect(h["Content-Transfer-Encoding"] == "quoted-printable")
        #expect(h["Auto-Submitted"] == "auto-generated")
        #expect(m.recipients == ["noc@example.com"])
    }

    @Test func laterPagesThreadUnderTheFirst() throws {
        let root = "<incident-42.1795457100000@alertbridge.example.com>"
        // Notices reuse the step of the page before them: at step 1 they are still replies.
        for (event, step) in [(EscalationPlanner.PageReason.escalated, 2), (.repeated, 5), (.resolved, 3), (.acknowledged, 1),
                              (.escalationEnded, 1)] {
            let page = Pages.page(event, status: event == .resolved ? .resolved : .triggered, step: step, tier: 2, deliveryID: 19)
            let m = try MailMessage.render(page, from: from, now: Pages.t0)
            let h = headers(m)
            #expect(h["Message-ID"] == "<incident-42.1795457100000.step-\(step).tier-2.\(event.rawValue).19@alertbridge.example.com>")
            #expect(h["In-Reply-To"] == root)
            #expect(h["References"] == root)
        }
    }

    @Test func messageIDsAreStableAcrossRetriesAndDistinctBetweenRows() throws {
        let a = try MailMessage.render(Pages.page(.escalated, step: 2, deliveryID: 8), from: from, now: Pages.t0)
        let again = try MailMessage.render(Pages.page(.escalated, step: 2, deliveryID: 8), from: from, now: Pages.t0 + .seconds(600))
        let other = try MailMessage.render(Pages.page(.escalated, step: 2, deliveryID: 9), from: from, now: Pages.t0)
        #expect(a.messageID == again.messageID)
        #expect(a.messageID != other.messageID)
        // Incident 42 of a new database (created at another time) is another thread.
        var first = Pages.page()
        let before = try MailMessage.render(first, from: from, now: Pages.t0).messageID
        first.incident.incident.createdAt = Pages.t0 + .seconds(86_400)
        #expect(try MailMessage.render(first, from: from, now: Pages.t0).messageID != before)
    }

    @Test func koreanSubjectIsEncodedPerRFC2047AndRoundTrips() throws {
        let page = Pages.page(title: Pages.korean)
        let m = try MailMessage.render(page, from: "Alertbridge NOC <alertbridge@example.com>", now: Pages.t0)
        let head = m.text.components(separatedBy: "\r\n\r\n")[0]
        #expect(head.utf8.allSatisfy { $0 < 0x80 }, "headers must be 7-bit")
        for line in head.components(separatedBy: "\r\n") { #expect(line.count <= 78, "\(line)") }
        let subjectLines = head.components(separatedBy: "\r\n").drop { !$0.hasPrefix("Subject:") }
            .prefix { $0.hasPrefix("Subject:") || $0.hasPrefix(" ") }
        #expect(subjectLines.count > 1, "a long Korean subject takes several encoded-words")
        let words = subjectLines.joined().dropFirst("Subject:".count).split(separator: " ")
        for word in words {
            #expect(word.count <= 75)
            #expect(word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?="))
            // Each word decodes on its own: no character is split between words.
            #expect(MailDecoding.decodeEncodedWords(String(word)) != nil)
        }
        #expect(MailDecoding.decodeEncodedWords(headers(m)["Subject"]!) == PageText.subject(page))
        #expect(headers(m)["From"] == "Alertbridge NOC <alertbridge@example.com>")
    }

    /// A display name with a quote or a backslash is quoted with them escaped (RFC 5322
    /// quoted-string): unescaped, the quote ended the name and the header did not parse.
    @Test func aDisplayNameWithQuotesStaysOneQuotedString() {
        #expect(MailMessage.fromHeader(#"NOC "Night" Shift <noc@example.com>"#, address: "noc@example.com")
                == #""NOC \"Night\" Shift" <noc@example.com>"#)
        #expect(MailMessage.fromHeader(#"Ops\Seoul <ops@example.com>"#, address: "ops@example.com") == #""Ops\\Seoul" <ops@example.com>"#)
        #expect(MailMessage.fromHeader("Alertbridge NOC <a@example.com>", address: "a@example.com") == "Alertbridge NOC <a@example.com>")
        // Already a quoted string: escaped once, not twice.
        #expect(MailMessage.fromHeader(#""Ops \"Seoul\" NOC" <noc@example.com>"#, address: "noc@example.com")
                == #""Ops \"Seoul\" NOC" <noc@example.com>"#)
    }

    @Test func encodedWordsNeverSplitACharacter() {
        let text = String(repeating: "가😀é", count: 40)
        let words = MailMessage.encodedWords(text)
        #expect(words.allSatisfy { $0.count <= 75 })
        #expect(words.compactMap { MailDecoding.decodeEncodedWords($0) }.joined() == text)
    }

    @Test func longASCIISubjectsAreFoldedNotEncoded() throws {
        let title = Array(repeating: "latency", count: 20).joined(separator: " ")
        let m = try MailMessage.render(Pages.page(title: title), from: from, now: Pages.t0)
        #expect(!m.text.contains("=?UTF-8?"))
        #expect(headers(m)["Subject"]!.contains(title))
        for line in m.text.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n") { #expect(line.count <= 78) }
    }

    /// A word longer than a line (a URL pasted into a summary) cannot be folded: the subject
    /// becomes encoded-words instead of a line over 998 characters that servers refuse.
    @Test func aSubjectWithAWordLongerThanALineIsEncoded() throws {
        let url = "https://grafana.example.com/d/edge?" + String(repeating: "var-pop=ICN1&", count: 80)
        let page = Pages.page(title: "latency at " + url)
        let m = try MailMessage.render(page, from: from, now: Pages.t0)
        for line in m.text.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n") {
            #expect(line.count <= 78, "\(line.prefix(80))…")
        }
        #expect(MailDecoding.decodeEncodedWords(headers(m)["Subject"]!) == PageText.subject(page))
    }

    @Test func aLineBreakInATitleCannotInjectAHeader() throws {
        let m = try MailMessage.render(Pages.page(title: "disk full\r\nBcc: everyone@example.com"), from: from, now: Pages.t0)
        let head = m.text.components(separatedBy: "\r\n\r\n")[0]
        #expect(!head.components(separatedBy: "\r\n").contains { $0.hasPrefix("Bcc:") })
    }

    @Test func bodyIsQuotedPrintableUTF8WithCRLFLines() throws {
        let page = Pages.page(title: Pages.korean)
        let m = try MailMessage.render(page, from: from, now: Pages.t0)
        let body = m.text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        #expect(body.utf8.allSatisfy { $0 < 0x80 })
        for line in body.components(separatedBy: "\r\n") { #expect(line.count <= 76, "\(line)") }
        #expect(!body.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        let decoded = try #require(MailDecoding.decodeQuotedPrintable(body))
        #expect(decoded == PageText.body(page).replacingOccurrences(of: "\n", with: "\r\n") + "\r\n")
        #expect(decoded.contains("What:     \(Pages.korean)"))
        #expect(decoded.contains("Acknowledge: alertbridge ack 42"))
    }

    @Test func quotedPrintableEncodesTrailingSpaceAndEquals() {
        #expect(MailMessage.quotedPrintable("a = b \nc\t") == "a =3D b=20\r\nc=09")
        let long = String(repeating: "x", count: 200)
        let encoded = MailMessage.quotedPrintable(long)
        #expect(encoded.components(separatedBy: "\r\n").allSatisfy { $0.count <= 76 })
        #expect(MailDecoding.decodeQuotedPrintable(encoded) == long)
    }

    @Test func missingOrInvalidRecipientsFailPermanently() {
        #expect(throws: DeliveryError.permanent("no recipients: give the policy target a \"to:\" list of email addresses")) {
            try MailMessage.render(Pages.page(recipients: []), from: from, now: Pages.t0)
        }
        #expect(throws: DeliveryError.permanent("invalid recipient address \"noc at example.com\"")) {
            try MailMessage.render(Pages.page(recipients: ["noc at example.com"]), from: from, now: Pages.t0)
        }
        #expect(throws: DeliveryError.permanent("invalid recipient address \"a@b  RCPT TO:<x@y>\"")) {
            try MailMessage.render(Pages.page(recipients: ["a@b\r\nRCPT TO:<x@y>"]), from: from, now: Pages.t0)
        }
    }

    @Test func datesAreRFC5322InUTC() {
        #expect(MailMessage.date(Timestamp(seconds: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(MailMessage.date(Timestamp(seconds: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 +0000")
        #expect(MailMessage.date(Pages.t0 + .seconds(3_600 * 6 + 59)) == "Tue, 24 Nov 2026 00:05:59 +0000")
    }
}
