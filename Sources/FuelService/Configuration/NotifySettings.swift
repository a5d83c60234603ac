import FuelModel

/// Where and how notifications in the outbox are delivered (`notify.*`).
public struct NotifySettings: Sendable, Equatable {
    /// Webhook URL by recipient: an exact recipient (`department:emergency_management`) or a prefix
    /// ending in `:` (`city:` — every city contact, the payload naming the person).
    public var webhooks: [String: String] = [:]
    /// HMAC-SHA256 key; when set every delivery carries `Fuelwarden-Signature: sha256=<hex>` of its body.
    public var secret: String?
    /// How often the notifier looks for due messages.
    public var interval: Duration = .seconds(1)
    /// First retry after this long, doubling each time (at most an hour).
    public var retryBase: Duration = .seconds(10)
    /// Attempts before a message is marked failed.
    public var maxAttempts = 8
    /// Longest wait for a webhook's answer.
    public var timeout: Duration = .seconds(10)

    public init() {}

    /// Recipients with a webhook, as the outbox claim takes them.
    public var routableRecipients: [String] { webhooks.keys.sorted() }

    /// The webhook for a recipient: its exact entry, else the longest matching prefix.
    public func url(for recipient: String) -> String? {
        if let u = webhooks[recipient] { return u }
        return webhooks.filter { $0.key.hasSuffix(":") && recipient.hasPrefix($0.key) }.max { $0.key.count < $1.key.count }?.value
    }
}

/// The annual inspection's settings (`inspection.*`).
public struct InspectionSettings: Sendable, Equatable {
    public var expiryWarningDays = 30
    public var minimumDataCoverage = 0.95
    /// An active station whose last recorded inspection is older than this is overdue.
    public var intervalDays = 365
    /// An active station that sent nothing for this many days is listed as silent.
    public var silentDays = 3
    /// Hours an alert of each severity may stay unresolved before it is listed as overdue.
    public var alertDeadlineHours: [Severity: Double] = [.critical: 24, .warning: 168, .info: 720]

    public init() {}
}
