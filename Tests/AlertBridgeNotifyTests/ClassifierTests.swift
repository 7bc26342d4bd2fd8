import AlertBridgeCore
@testable import AlertBridgeNotify
import Testing

@Suite struct DeliveryClassifierTests {
    let now = Timestamp(seconds: 784_111_777)  // Sun, 06 Nov 1994 08:49:37 GMT

    func http(_ status: Int, _ headers: [String: String] = [:], _ body: String = "") -> DeliveryError? {
        DeliveryClassifier.classify(HTTPResponse(status: status, headers: headers, body: Array(body.utf8)), now: now)
    }

    @Test func successIsAny2xx() {
        #expect(http(200) == nil)
        #expect(http(202) == nil)
        #expect(http(204) == nil)
    }

    @Test func serverErrorsAndRateLimitsAreTransient() {
        #expect(http(503, [:], "<html>down</html>") == .transient("HTTP 503: <html>down</html>"))
        #expect(http(500) == .transient("HTTP 500"))
        #expect(http(429, ["retry-after": "30"], "rate_limited") == .transient("HTTP 429: rate_limited", retryAfter: .seconds(30)))
        #expect(http(503, ["retry-after": "Sun, 06 Nov 1994 08:51:37 GMT"]) == .transient("HTTP 503", retryAfter: .seconds(120)))
        #expect(http(408) == .transient("HTTP 408"))
    }

    @Test func otherClientErrorsArePermanentWithStatusAndExcerpt() {
        #expect(http(400, [:], "invalid_payload") == .permanent("HTTP 400: invalid_payload"))
        #expect(http(404, [:], "no_service") == .permanent("HTTP 404: no_service"))
        #expect(http(410, [:], "channel_is_archived") == .permanent("HTTP 410: channel_is_archived"))
        #expect(http(403) == .permanent("HTTP 403"))
        let long = String(repeating: "error ", count: 200)
        guard case .permanent(let reason) = http(400, [:], long) else { Issue.record("not permanent"); return }
        #expect(reason.count < 220)
        #expect(reason.hasSuffix("…"))
        #expect(http(301)?.description.contains("redirect") == true)
        // A NUL from the receiver would fail the store's write of the outcome (PostgreSQL).
        #expect(http(400, [:], "bad\u{0}input\u{7}") == .permanent("HTTP 400: bad\u{FFFD}input\u{FFFD}"))
    }

    @Test func retryAfterReadsSecondsAndAllThreeHTTPDateFormats() {
        #expect(DeliveryClassifier.retryAfter("120", now: now) == .seconds(120))
        #expect(DeliveryClassifier.retryAfter(" 0 ", now: now) == .seconds(0))
        #expect(DeliveryClassifier.retryAfter("Sun, 06 Nov 1994 08:50:37 GMT", now: now) == .seconds(60))
        #expect(DeliveryClassifier.retryAfter("Sunday, 06-Nov-94 08:50:37 GMT", now: now) == .seconds(60))
        #expect(DeliveryClassifier.retryAfter("Sun Nov  6 08:50:37 1994", now: now) == .seconds(60))
        #expect(DeliveryClassifier.retryAfter("Sun, 06 Nov 1994 08:00:00 GMT", now: now) == .zero)  // past: now
        #expect(DeliveryClassifier.retryAfter("soon", now: now) == nil)
        #expect(DeliveryClassifier.retryAfter(nil, now: now) == nil)
        #expect(DeliveryClassifier.retryAfter("-5", now: now) == nil)
    }

    /// RFC 9110 allows any number of digits: a huge wait is the longest one, not a crash
    /// of the whole process (and again after every restart, as the page is retried).
    @Test func aHugeRetryAfterIsBoundedNotACrash() {
        let longest = DeliveryClassifier.longestRetryAfter
        for value in ["10000000000000000", "99999999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT"] {
            let wait = DeliveryClassifier.retryAfter(value, now: now)
            #expect(wait == longest, "\(value)")
            #expect(Backoff().delay(afterAttempts: 3, retryAfter: wait, random: 0.5) == longest)
        }
        #expect(DeliveryClassifier.retryAfter("Fri, 31 Dec 999999999 23:59:59 GMT", now: now) == nil)
        guard case .transient(_, let wait) = http(503, ["retry-after": "Fri, 31 Dec 999999999 23:59:59 GMT"]) else {
            Issue.record("503 is transient"); return
        }
        #expect(wait == nil)
    }

    /// A status that came before the transfer broke is not an answer: only an SMTP reply
    /// code decides. And an SMTP server's 454 to STARTTLS is RFC 3207's temporary refusal.
    @Test func transportFailuresAfterAnHTTPStatusAndATemporaryTLSRefusal() {
        #expect(DeliveryClassifier.classify(TransportError(.connect, "reset")) == .transient("reset"))
        #expect(DeliveryClassifier.classify(TransportError(.tlsUnavailable, "454 TLS not available", responseCode: 454))
                == .transient("454 TLS not available"))
        #expect(DeliveryClassifier.classify(TransportError(.tlsUnavailable, "no STARTTLS")) == .permanent("no STARTTLS"))
    }

    @Test func connectionProblemsAreTransient() {
        for kind in [TransportError.Kind.connect, .dropped, .resolve, .timeout, .tlsHandshake, .other] {
            #expect(DeliveryClassifier.classify(TransportError(kind, "x")) == .transient("x"))
        }
    }

    @Test func smtpRepliesDecide4xxTransient5xxPermanent() {
        let busy = TransportError(.rejected, "the server refused every recipient: noc@example.com (451 4.3.0 Mailbox busy)",
                                  responseCode: 451)
        #expect(DeliveryClassifier.classify(busy) == .transient(busy.message))
        let unknown = TransportError(.rejected, "MAIL FROM refused: 550 5.7.1 Sender rejected", responseCode: 550)
        #expect(DeliveryClassifier.classify(unknown) == .permanent("MAIL FROM refused: 550 5.7.1 Sender rejected"))
        #expect(DeliveryClassifier.classify(TransportError(.loginDenied, "Login denied", responseCode: 535)) == .permanent("Login denied"))
        #expect(DeliveryClassifier.classify(TransportError(.loginDenied, "try later", responseCode: 454)) == .transient("try later"))
    }

    @Test func tlsRequiredButUnavailableAndBadCertificatesArePermanent() {
        #expect(DeliveryClassifier.classify(TransportError(.tlsUnavailable, "no STARTTLS", responseCode: 250)) == .permanent("no STARTTLS"))
        #expect(DeliveryClassifier.classify(TransportError(.tlsVerify, "bad cert")) == .permanent("bad cert"))
        #expect(DeliveryClassifier.classify(TransportError(.invalidRequest, "bad URL")) == .permanent("bad URL"))
    }

    @Test func redactedURLsKeepNoSecrets() {
        #expect(CurlTransport.redacted("https://hooks.slack.com/services/T0/B0/SECRET") == "https://hooks.slack.com")
        #expect(CurlTransport.redacted("smtp://user:pw@mail.example.com:587") == "smtp://mail.example.com:587")
    }
}

@Suite struct HMACTests {
    func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    @Test func sha256MatchesFIPSVectors() {
        #expect(Hex.string(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.string(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hex.string(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(Hex.string(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Fed in pieces that straddle blocks: same digest.
        var sha = SHA256()
        for chunk in stride(from: 0, to: 1000, by: 37) { sha.update([UInt8](repeating: 7, count: min(37, 1000 - chunk))) }
        #expect(sha.finalize() == SHA256.hash([UInt8](repeating: 7, count: 1000)))
    }

    /// RFC 4231 §4.2–4.8 (case 5, a truncated output, is not applicable).
    @Test(arguments: [
        ("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        ("4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (String(repeating: "aa", count: 20), String(repeating: "dd", count: 50),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        ("0102030405060708090a0b0c0d0e0f10111213141516171819", String(repeating: "cd", count: 50),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        (String(repeating: "aa", count: 131),
         "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579204669727374",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        (String(repeating: "aa", count: 131),
         "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2d73697a65206b657920616e642061206c6172676572207468616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565647320746f20626520686173686564206265666f7265206265696e6720757365642062792074686520484d414320616c676f726974686d2e",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ])
    func hmacMatchesRFC4231(key: String, data: String, mac: String) {
        #expect(Hex.string(HMACSHA256.authenticationCode(for: hex(data), key: hex(key))) == mac)
    }

    @Test func webhookSignatureIsHMACOfTimestampDotBody() {
        let body = Array(#"{"a":1}"#.utf8)
        // Checked against Python: hmac.new(b"topsecret", b'1795457100.{"a":1}', hashlib.sha256).hexdigest()
        let signature = WebhookSignature.sign(body: body, timestamp: 1_795_457_100, secret: "topsecret")
        #expect(signature == "sha256=1a6400eaeb688fdf652779ad9692040f6a43a9fb35e1e3d30e26308a9cd30baf")
        #expect(WebhookSignature.verify(body: body, timestamp: "1795457100", signature: signature, secret: "topsecret",
                                        now: 1_795_457_160))
        #expect(!WebhookSignature.verify(body: body + [0x20], timestamp: "1795457100", signature: signature,
                                         secret: "topsecret", now: 1_795_457_160))
        #expect(!WebhookSignature.verify(body: body, timestamp: "1795457100", signature: signature, secret: "other",
                                         now: 1_795_457_160))
        #expect(!WebhookSignature.verify(body: body, timestamp: "1795457100", signature: signature, secret: "topsecret",
                                         now: 1_795_457_100 + 301), "a replay after five minutes is refused")
    }
}
