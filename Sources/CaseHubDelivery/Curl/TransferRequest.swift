/// One outbound transfer for ``CurlEngine``: an HTTP request (webhooks) or an SMTP submission
/// (e-mail).
public struct TransferRequest: Sendable {
    public enum Payload: Sendable {
        /// A `POST` with these header lines (`Name: value`) and body.
        case httpPost(headers: [String], body: [UInt8])
        /// An SMTP submission: envelope sender, recipients, and the whole RFC 5322 message
        /// with CRLF line ends (libcurl dot-stuffs it and ends the DATA itself).
        case smtp(from: String, recipients: [String], message: [UInt8])
    }

    public var url: String
    public var payload: Payload
    public var connectTimeout: Duration
    /// The whole transfer, connect included.
    public var totalTimeout: Duration
    /// When false, a connection to a loopback, private or link-local address is refused at
    /// connect time, after name resolution, so a host name cannot smuggle one in.
    public var allowPrivateAddresses: Bool
    /// How much of the answer's body is kept.
    public var responseLimit: Int

    public init(
        url: String, payload: Payload, connectTimeout: Duration = .seconds(5), totalTimeout: Duration = .seconds(15),
        allowPrivateAddresses: Bool, responseLimit: Int = 2048
    ) {
        self.url = url
        self.payload = payload
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.allowPrivateAddresses = allowPrivateAddresses
        self.responseLimit = responseLimit
    }
}

/// How a transfer ended.
public struct TransferResult: Sendable {
    /// The HTTP status, or the last SMTP reply code; nil when no answer came.
    public var code: Int?
    /// Why the transfer failed at the transport level (nil when an answer came and the
    /// transfer completed, whatever its status).
    public var error: String?
    /// The first ``TransferRequest/responseLimit`` bytes of the answer's body; for SMTP, the
    /// server's reply that carries the final status (else its last reply), as many bytes.
    public var body: [UInt8]
    /// The `Retry-After` header of the answer, as sent.
    public var retryAfter: String?
    public var duration: Duration
    /// The address refused by the private-network guard, when that ended the transfer.
    public var refusedAddress: String?

    public init(
        code: Int?, error: String?, body: [UInt8] = [], retryAfter: String? = nil, duration: Duration, refusedAddress: String? = nil
    ) {
        self.code = code
        self.error = error
        self.body = body
        self.retryAfter = retryAfter
        self.duration = duration
        self.refusedAddress = refusedAddress
    }
}
