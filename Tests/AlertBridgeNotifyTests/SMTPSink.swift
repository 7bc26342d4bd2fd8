import Foundation
import TestProcesses

/// A real SMTP server for the email tests: aiosmtpd (Python) on 127.0.0.1, saving every
/// message it accepts (envelope and raw bytes) as a JSON file in a temporary directory.
///
/// It can require AUTH, offer or require STARTTLS, or speak implicit TLS (smtps), with
/// a self-signed certificate made by `openssl req`. Recipients whose local part starts
/// with `reject` get `550`, with `busy` get `451`, with `ratelimited` a three-line `450`
/// (as Gmail words it), with `greylist` get `451` the first
/// time only (as a greylisting server answers an unknown sender); a message to one whose
/// local part starts with `spamtrap` is refused after its data with `554`.
struct SMTPSink {
    struct Options: Sendable {
        var auth: (user: String, password: String)?
        var startTLS = false
        var requireStartTLS = false
        var implicitTLS = false
        /// aiosmtpd refuses AUTH over plain text unless told otherwise.
        var authRequiresTLS = true
    }

    struct Received: Sendable {
        var mailFrom: String
        var recipients: [String]
        var data: [UInt8]
        var tls: Bool
        var authenticatedAs: String?

        var text: String { String(decoding: data, as: UTF8.self) }

        /// Unfolded headers, in order; names as written.
        var headers: [(name: String, value: String)] {
            let head = text.components(separatedBy: "\r\n\r\n").first ?? ""
            var out: [(String, String)] = []
            for line in head.components(separatedBy: "\r\n") {
                if line.first == " " || line.first == "\t", !out.isEmpty {
                    out[out.count - 1].1 += line
                } else if let colon = line.firstIndex(of: ":") {
                    out.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
                }
            }
            return out
        }

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        var body: String {
            let parts = text.components(separatedBy: "\r\n\r\n")
            return parts.dropFirst().joined(separator: "\r\n\r\n")
        }
    }

    let port: Int
    let directory: URL
    /// The certificate to trust (`CurlTransport(caFile:)`), when TLS is on.
    let certificate: String?
    private let process: ChildProcess

    var url: String { "smtp://127.0.0.1:\(port)" }
    var smtpsURL: String { "smtps://127.0.0.1:\(port)" }

    /// Whether `python3` can import aiosmtpd.
    static let available: Bool = run(["python3", "-c", "import aiosmtpd"]) == 0
    static let opensslAvailable: Bool = run(["openssl", "version"]) == 0

    static var unavailableReason: String {
        "aiosmtpd is not installed for python3 (pip install aiosmtpd); set ALERTBRIDGE_REQUIRE_ALL=1 to fail instead of skipping"
    }

    static func with(_ options: Options = Options(), _ body: (SMTPSink) async throws -> Void) async throws {
        let sink = try await start(options)
        do { try await body(sink) } catch { sink.stop(); throw error }
        sink.stop()
    }

    static func start(_ options: Options) async throws -> SMTPSink {
        guard available else { throw TestFailure(unavailableReason) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alertbridge-smtp-\(UUID().uuidString)")
        let inbox = directory.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let script = directory.appendingPathComponent("smtp_sink.py")
        try pythonScript.write(to: script, atomically: false, encoding: .utf8)

        var arguments = ["python3", script.path, "--dir", inbox.path, "--ready", directory.appendingPathComponent("port").path]
        var certificate: String?
        if options.startTLS || options.implicitTLS {
            guard opensslAvailable else { throw TestFailure("openssl is not installed; it makes the test certificate") }
            let cert = directory.appendingPathComponent("cert.pem").path
            let key = directory.appendingPathComponent("key.pem").path
            let status = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                              "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                              "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
            guard status == 0 else { throw TestFailure("openssl req failed (\(status))") }
            certificate = cert
            arguments += [options.implicitTLS ? "--smtps" : "--starttls", cert, key]
            if options.requireStartTLS { arguments.append("--require-starttls") }
        }
        if let auth = options.auth {
            arguments += ["--auth", "\(auth.user):\(auth.password)"]
            if !options.authRequiresTLS { arguments.append("--auth-plaintext") }
        }
        let log = directory.appendingPathComponent("server.log")
        let process = try ChildProcess.start("/usr/bin/env", arguments, output: log.path, errors: log.path)
        ParentWatch.kill(process.pid, removing: directory.path)

        // Bounded wait until it listens: the script writes its port once bound. (Python's
        // start takes a second of CPU; a loaded machine running the whole suite once took
        // more than 15 s.)
        let portFile = directory.appendingPathComponent("port")
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return SMTPSink(port: port, directory: directory, certificate: certificate, process: process)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.signal(SIGKILL)
        process.waitBlocking()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: directory)
        throw TestFailure("aiosmtpd did not start:\n\(output)")
    }

    /// SIGTERM, then SIGKILL after 5 s; removes its files.
    func stop() {
        process.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Messages accepted so far, in arrival order.
    func received() throws -> [Received] {
        let inbox = directory.appendingPathComponent("inbox")
        let names = try FileManager.default.contentsOfDirectory(atPath: inbox.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            let data = try Data(contentsOf: inbox.appendingPathComponent(name))
            struct Record: Decodable {
                var mail_from: String, rcpt_tos: [String], data: String, tls: Bool, auth: String?
            }
            let r = try JSONDecoder().decode(Record.self, from: data)
            return Received(mailFrom: r.mail_from, recipients: r.rcpt_tos, data: Array(Data(base64Encoded: r.data) ?? Data()),
                            tls: r.tls, authenticatedAs: r.auth)
        }
    }

    /// The server's log (aiosmtpd's own messages), for failure messages.
    var log: String { (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? "" }

    @discardableResult
    static func run(_ arguments: [String]) -> Int32 {
        guard let process = try? ChildProcess.start("/usr/bin/env", arguments) else { return -1 }
        return process.waitBlocking().status
    }

    static let pythonScript = #"""
        import argparse, asyncio, base64, itertools, json, os, signal, ssl
        from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

        parser = argparse.ArgumentParser()
        parser.add_argument("--dir", required=True)
        parser.add_argument("--ready", required=True)
        parser.add_argument("--auth")
        parser.add_argument("--auth-plaintext", action="store_true")
        parser.add_argument("--starttls", nargs=2)
        parser.add_argument("--require-starttls", action="store_true")
        parser.add_argument("--smtps", nargs=2)
        args = parser.parse_args()
        counter = itertools.count(1)
        greylisted = set()

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                local = address.split("@")[0]
                if local.startswith("reject"):
                    return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
                if local.startswith("busy"):
                    return "451 4.3.0 Mailbox busy, try again later"
                if local.startswith("ratelimited"):
                    return ("450-4.2.1 The user you are trying to contact is receiving mail at a rate that\r\n"
                            "450-4.2.1 prevents additional messages from being delivered. Please resend later.\r\n"
                            "450 4.2.1 https://support.example.com/mail/?p=ReceivingRate")
                if local.startswith("greylist") and address not in greylisted:
                    greylisted.add(address)
                    return "451 4.7.1 Greylisted, try again later"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                if any(r.split("@")[0].startswith("spamtrap") for r in envelope.rcpt_tos):
                    return "554 5.7.1 Message rejected as spam"
                tls = session.ssl is not None or server.transport.get_extra_info("sslcontext") is not None
                auth = None
                if session.authenticated and isinstance(session.auth_data, LoginPassword):
                    auth = session.auth_data.login.decode()
                record = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                          "data": base64.b64encode(envelope.original_content).decode(), "tls": tls, "auth": auth}
                path = os.path.join(args.dir, "msg-%05d.json" % next(counter))
                with open(path + ".tmp", "w") as f:
                    json.dump(record, f)
                os.rename(path + ".tmp", path)
                return "250 Message accepted for delivery"

        def authenticator(server, session, envelope, mechanism, auth_data):
            user, password = args.auth.split(":", 1)
            ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() \
                and auth_data.password == password.encode()
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        def context(cert, key):
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(cert, key)
            return ctx

        def factory():
            kw = dict(hostname="sink.test", decode_data=False)
            if args.starttls:
                kw["tls_context"] = context(*args.starttls)
                kw["require_starttls"] = args.require_starttls
            if args.auth:
                kw["authenticator"] = authenticator
                kw["auth_required"] = True
                kw["auth_require_tls"] = not args.auth_plaintext
            return SMTP(Handler(), **kw)

        async def main():
            loop = asyncio.get_running_loop()
            server = await loop.create_server(factory, "127.0.0.1", 0,
                                              ssl=context(*args.smtps) if args.smtps else None)
            port = server.sockets[0].getsockname()[1]
            with open(args.ready + ".tmp", "w") as f:
                f.write(str(port))
            os.rename(args.ready + ".tmp", args.ready)
            async with server:
                await server.serve_forever()

        asyncio.run(main())
        """#
}
