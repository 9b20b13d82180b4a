import Foundation
import GRPCNIOTransportHTTP2
import SwiftASN1
import X509

/// The server's certificate chain and private key, read and checked once at start-up so that a
/// wrong file fails `boundary serve` at once with a message naming it, instead of surfacing
/// seconds later as a listener that never bound.
public struct ServerTLS: Sendable {
    public let certificateChain: [UInt8]
    public let privateKey: [UInt8]

    public enum LoadError: Error, CustomStringConvertible, Equatable {
        case unreadable(path: String, reason: String)
        case noCertificate(path: String)
        case badCertificate(path: String, reason: String)
        case badKey(path: String, reason: String)
        case mismatch(certificate: String, key: String)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason):
                "cannot read \(path): \(reason)"
            case .noCertificate(let path):
                "\(path) holds no PEM certificate (expected '-----BEGIN CERTIFICATE-----' blocks, leaf first)"
            case .badCertificate(let path, let reason):
                "\(path) is not a valid PEM certificate chain: \(reason)"
            case .badKey(let path, let reason):
                "\(path) is not a usable PEM private key (unencrypted PKCS#8, SEC1 or PKCS#1): \(reason)"
            case .mismatch(let certificate, let key):
                "the private key in \(key) does not match the certificate in \(certificate); pass the key the certificate was issued for"
            }
        }
    }

    /// Reads both files and checks that the key belongs to the chain's first (leaf) certificate.
    public init(certificatePath: String, keyPath: String) throws {
        let chainText = try Self.read(certificatePath)
        let keyText = try Self.read(keyPath)
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: chainText).filter { $0.discriminator == "CERTIFICATE" }
        } catch {
            throw LoadError.badCertificate(path: certificatePath, reason: "\(error)")
        }
        guard let leafDocument = documents.first else { throw LoadError.noCertificate(path: certificatePath) }
        let leaf: Certificate
        do {
            leaf = try Certificate(pemDocument: leafDocument)
            for document in documents.dropFirst() { _ = try Certificate(pemDocument: document) }
        } catch {
            throw LoadError.badCertificate(path: certificatePath, reason: "\(error)")
        }
        let key: Certificate.PrivateKey
        do {
            // A key file may hold other blocks too (EC PARAMETERS from `openssl ecparam -genkey`,
            // or the certificate itself): the first private key is the one.
            let keyKinds: Set<String> = ["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"]
            guard let document = try PEMDocument.parseMultiple(pemString: keyText)
                .first(where: { keyKinds.contains($0.discriminator) }) else {
                throw LoadError.badKey(path: keyPath, reason: "no PRIVATE KEY block (encrypted keys are not supported)")
            }
            key = try Certificate.PrivateKey(pemDocument: document)
        } catch let error as LoadError {
            throw error
        } catch {
            throw LoadError.badKey(path: keyPath, reason: "\(error)")
        }
        guard key.publicKey == leaf.publicKey else { throw LoadError.mismatch(certificate: certificatePath, key: keyPath) }
        certificateChain = Array(chainText.utf8)
        privateKey = Array(keyText.utf8)
    }

    /// What the HTTP/2 transport is given: the bytes that were checked, not the paths again.
    public var transportSecurity: HTTP2ServerTransport.Posix.TransportSecurity {
        .tls(certificateChain: [.bytes(certificateChain, format: .pem)], privateKey: .bytes(privateKey, format: .pem))
    }

    private static func read(_ path: String) throws -> String {
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let text = String(data: data, encoding: .utf8) else {
                throw LoadError.unreadable(path: path, reason: "not PEM text (binary DER is not accepted)")
            }
            return text
        } catch let error as LoadError {
            throw error
        } catch {
            throw LoadError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
    }
}
