/// libpq's `sslmode`: whether TLS is used and what of the server's certificate is checked.
public enum SSLMode: String, Sendable, Equatable, CaseIterable {
    /// Plain TCP.
    case disable
    /// TLS when the server offers it; plain otherwise (no certificate check).
    case allow, prefer
    /// TLS, no certificate check.
    case require
    /// TLS, the certificate chain checked against `sslrootcert` (not the host name).
    case verifyCA = "verify-ca"
    /// TLS, the certificate chain and the host name checked.
    case verifyFull = "verify-full"
}
