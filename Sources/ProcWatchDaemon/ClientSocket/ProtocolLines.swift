import NIOCore
import OutputBytes
import ProcWatch
@_spi(Benchmarks) import ProcWatchCLI

/// The lines the daemon sends besides events (docs/daemon-protocol.md), each ending in `\n`,
/// and the event lines themselves through the one contract writer, ``JSONRenderer``.
enum ProtocolLines {
    /// `{"procwatch":"daemon","protocol":1,"version":"0.1.0","source":"bpf","visibility":"all","uid":0}`
    static func hello(settings: ClientHubSettings, visibility: ClientVisibility, uid: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.append(ascii: "{\"procwatch\":\"daemon\",\"protocol\":")
        bytes.append(number: ClientRequest.protocolVersion)
        bytes.append(ascii: ",\"version\":")
        bytes.append(jsonString: settings.version)
        bytes.append(ascii: ",\"source\":")
        bytes.append(jsonString: settings.source)
        bytes.append(ascii: ",\"visibility\":")
        bytes.append(jsonString: visibility.name)
        bytes.append(ascii: ",\"uid\":")
        bytes.append(number: uid)
        bytes.append(ascii: "}\n")
        return bytes
    }

    /// `{"ok":true}`
    static let ok: [UInt8] = Array("{\"ok\":true}\n".utf8)

    /// `{"error":"…"}`, the text escaped.
    static func error(_ refusal: RequestRefusal) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.append(ascii: "{\"error\":")
        bytes.append(jsonString: refusal.description)
        bytes.append(ascii: "}\n")
        return bytes
    }

    /// An event's contract line, appended to `bytes` with its newline.
    static func appendEvent(_ enriched: EnrichedEvent, to bytes: inout [UInt8]) {
        let observed = ObservedEvent(event: enriched.event, process: enriched.process, previousName: enriched.previous?.name)
        JSONRenderer().render(observed, into: &bytes)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// The contract's `lost` line for `count` events dropped for one client (`backlog`).
    static func backlog(count: Int, into buffer: inout ByteBuffer) {
        var bytes: [UInt8] = []
        appendEvent(EnrichedEvent(event: ProcessEvent(detail: .lost(count: count, reason: .backlog, cpu: nil), timestamp: .now)),
                    to: &bytes)
        buffer.writeBytes(bytes)
    }
}
