import Crypto
import Foundation
import SwiftASN1
import Testing
import X509
@testable import BoundaryHTTP2

/// Certificate and key files are checked at start-up, and every problem names its file.
@Suite struct ServerTLSTests {
    struct Files {
        let directory: URL
        var cert: String { directory.appendingPathComponent("cert.pem").path }
        var key: String { directory.appendingPathComponent("key.pem").path }
        var otherKey: String { directory.appendingPathComponent("other-key.pem").path }
    }

    static func files() throws -> Files {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let files = Files(directory: directory)
        let key = P256.Signing.PrivateKey()
        let certificateKey = Certificate.PrivateKey(key)
        let name = try DistinguishedName { CommonName("boundary-test") }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: certificateKey.publicKey,
            notValidBefore: Date().addingTimeInterval(-60), notValidAfter: Date().addingTimeInterval(3600),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256, extensions: Certificate.Extensions(),
            issuerPrivateKey: certificateKey)
        try certificate.serializeAsPEM().pemString.write(toFile: files.cert, atomically: true, encoding: .utf8)
        try key.pemRepresentation.write(toFile: files.key, atomically: true, encoding: .utf8)
        try P256.Signing.PrivateKey().pemRepresentation.write(toFile: files.otherKey, atomically: true, encoding: .utf8)
        return files
    }

    @Test func matchingPairLoads() throws {
        let files = try Self.files()
        let tls = try ServerTLS(certificatePath: files.cert, keyPath: files.key)
        #expect(String(decoding: tls.certificateChain, as: UTF8.self).contains("BEGIN CERTIFICATE"))
    }

    /// `openssl ecparam -genkey` writes EC PARAMETERS before the key; some files bundle the
    /// certificate too. The first private key block is the key.
    @Test func keyFileWithOtherBlocksLoads() throws {
        let files = try Self.files()
        let key = try String(contentsOfFile: files.key, encoding: .utf8)
        let certificate = try String(contentsOfFile: files.cert, encoding: .utf8)
        let bundled = files.directory.appendingPathComponent("bundled.pem").path
        try ("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + certificate + key)
            .write(toFile: bundled, atomically: true, encoding: .utf8)
        _ = try ServerTLS(certificatePath: files.cert, keyPath: bundled)
    }

    @Test func mismatchedKeyIsRefusedNamingBothFiles() throws {
        let files = try Self.files()
        #expect(throws: ServerTLS.LoadError.mismatch(certificate: files.cert, key: files.otherKey)) {
            try ServerTLS(certificatePath: files.cert, keyPath: files.otherKey)
        }
        let message = ServerTLS.LoadError.mismatch(certificate: files.cert, key: files.otherKey).description
        #expect(message.contains(files.otherKey) && message.contains("does not match"))
    }

    @Test func unreadableOrMalformedFilesAreNamed() throws {
        let files = try Self.files()
        let missing = files.directory.appendingPathComponent("missing.pem").path
        #expect(throws: ServerTLS.LoadError.self) { try ServerTLS(certificatePath: missing, keyPath: files.key) }
        do {
            _ = try ServerTLS(certificatePath: missing, keyPath: files.key)
        } catch let error as ServerTLS.LoadError {
            guard case .unreadable(let path, _) = error else { Issue.record("\(error)"); return }
            #expect(path == missing)
        }
        let garbage = files.directory.appendingPathComponent("garbage.pem").path
        try "not a key".write(toFile: garbage, atomically: true, encoding: .utf8)
        do {
            _ = try ServerTLS(certificatePath: files.cert, keyPath: garbage)
            Issue.record("a garbage key must be refused")
        } catch let error as ServerTLS.LoadError {
            guard case .badKey(let path, _) = error else { Issue.record("\(error)"); return }
            #expect(path == garbage)
        }
        // A key where the certificate should be: no certificate in it.
        #expect(throws: ServerTLS.LoadError.noCertificate(path: files.key)) {
            try ServerTLS(certificatePath: files.key, keyPath: files.key)
        }
    }
}
