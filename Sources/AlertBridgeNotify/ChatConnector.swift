import AlertBridgeCore

/// A chat channel's incoming webhook: one JSON message per page, posted to the channel's
/// URL. Slack (and Mattermost) and Microsoft Teams differ only in how a page is drawn
/// (``SlackMessage``, ``TeamsMessage``); posting and reading the answer are the same.
public struct ChatConnector: Connector {
    public let webhookURL: String
    let render: @Sendable (PageMessage) -> JSONValue
    let poster: WebhookPoster

    init(webhookURL: String, render: @escaping @Sendable (PageMessage) -> JSONValue, transport: CurlTransport,
         clock: any WallClock) {
        self.webhookURL = webhookURL
        self.render = render
        poster = WebhookPoster(transport: transport, clock: clock)
    }

    /// Slack incoming webhooks, and Mattermost's Slack-compatible ones.
    public static func slack(webhookURL: String, transport: CurlTransport = CurlTransport(),
                             clock: any WallClock = SystemClock()) -> ChatConnector {
        ChatConnector(webhookURL: webhookURL, render: SlackMessage.payload, transport: transport, clock: clock)
    }

    /// Microsoft Teams through a Workflows ("When a Teams webhook request is received")
    /// webhook; Office 365 connectors are retired.
    public static func teams(webhookURL: String, transport: CurlTransport = CurlTransport(),
                             clock: any WallClock = SystemClock()) -> ChatConnector {
        ChatConnector(webhookURL: webhookURL, render: TeamsMessage.payload, transport: transport, clock: clock)
    }

    public func deliver(_ page: PageMessage) async throws(DeliveryError) -> Delivered {
        try await poster.post(url: webhookURL, body: render(page).encoded())
        return .toAll
    }
}
