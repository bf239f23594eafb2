/// What `procwatch --version` prints: the release and the git revision the binary was built
/// from (`buildRevision`, written at build time by the BuildRevision plugin).
package enum ProcWatchVersion {
    /// The release; `scripts/package` names the Debian package after it.
    package static let number = "0.1.0"

    /// `procwatch 0.1.0 (git 1077219a4f2c)`; `-dirty` after the revision when the tree had
    /// uncommitted changes, `unknown` when it was not built from a git checkout.
    package static var description: String { "procwatch \(number) (git \(buildRevision))" }
}
