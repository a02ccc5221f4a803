import Hummingbird
import HummingbirdWebSocket

/// The request context of the WebSocket router: what Hummingbird needs to upgrade.
public struct StreamRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
    }
}
