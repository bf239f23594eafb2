import Foundation
import Testing
@testable import ProcWatch

/// Inputs kept from fuzzing the decoder (`scripts/fuzz`): crashes it once found
/// (`crash-*.bin`) and interesting corpus entries (`corpus-*.bin`). Each must decode
/// without crashing, the same way every time, and to nothing the decoder cannot produce.
@Suite("Fuzz regression inputs")
struct FuzzRegressionTests {
    /// The `.bin` files in the `FuzzRegressions` resource directory, sorted by name.
    static func inputFiles() -> [URL] {
        guard let directory = Bundle.module.url(forResource: "FuzzRegressions", withExtension: nil),
              let files = try? FileManager.default.contentsOfDirectory(
                  at: directory, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles])
        else { return [] }
        return files.filter { $0.pathExtension == "bin" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test func resourcesArePresent() {
        let directory = Bundle.module.url(forResource: "FuzzRegressions", withExtension: nil)
        #expect(directory != nil, "the FuzzRegressions resource directory is missing from the test bundle")
        #expect(!Self.inputFiles().isEmpty, "no .bin inputs in FuzzRegressions")
    }

    @Test(arguments: inputFiles())
    func decodesWithoutCrashing(_ file: URL) throws {
        let bytes = [UInt8](try Data(contentsOf: file))

        let first = decode(bytes, truncated: false)
        let second = decode(bytes, truncated: false)
        #expect(first == second, "decoding \(file.lastPathComponent) is not deterministic")
        #expect(ProcEventDecoder.decode(bytes, unixOffsetNanoseconds: 1_000) == first, "the array entry point disagrees")
        for message in first { check(message, file: file) }

        let truncated = decode(bytes, truncated: true)
        #expect(truncated == decode(bytes, truncated: true))
        #expect(truncated == [.malformed(.truncatedDatagram(length: bytes.count))])
    }

    private func decode(_ bytes: [UInt8], truncated: Bool) -> [ConnectorMessage] {
        var messages: [ConnectorMessage] = []
        bytes.withUnsafeBytes { buffer in
            ProcEventDecoder.decode(buffer, truncated: truncated, unixOffsetNanoseconds: 1_000) { messages.append($0) }
        }
        return messages
    }

    /// Every message is one of the cases the decoder produces, with every field readable.
    private func check(_ message: ConnectorMessage, file: URL) {
        let name = file.lastPathComponent
        #expect(!String(describing: message).isEmpty)
        switch message {
        case .event(let event):
            if case .lost = event.detail {
                Issue.record("\(name): the decoder reported a loss, which only the event source may do")
            }
            #expect(event.kind != nil, "\(name): \(event)")
            #expect(!event.name.isEmpty)
            if case .comm(_, let comm) = event.detail {
                #expect(comm.utf8.count <= 16 * 3, "\(name): comm \(comm.debugDescription) is too long")
            }
            _ = event.subject?.description
            _ = event.exitStatus?.description
        case .acknowledgement, .netlinkError, .overrun:
            break
        case .malformed(let malformed):
            #expect(!malformed.description.isEmpty)
        }
    }
}
