import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash-safe whole-file replacement.
///
/// A checkpoint that is half-written when the machine loses power is worse than
/// no checkpoint: the server would load garbage. `write(_:to:)` therefore never
/// touches the target until a complete, fsync'ed copy exists beside it, and then
/// swaps it in with a single `rename(2)`, which POSIX guarantees to be atomic
/// within one file system. Readers see either the old file or the new one.
public enum DurableFile {
    /// Atomically replaces (or creates) the file at `url` with `bytes`.
    ///
    /// Steps: create `.NAME.tmp-<pid>-<random>` in the same directory with
    /// `O_EXCL`, write all bytes (looping on short writes and `EINTR`), `fsync`,
    /// `close`, `rename` over the target, then `fsync` the directory so the
    /// rename itself survives a crash. On any failure before the rename the
    /// temporary file is removed and a `DurableIOError` naming the path and the
    /// syscall is thrown. A failure of the final directory `fsync` is also
    /// thrown: the new content is in place but may not yet be durable.
    ///
    /// The new file gets mode 0644 (minus the umask); permissions of a file
    /// being replaced are not carried over.
    public static func write<Bytes: Collection>(_ bytes: Bytes, to url: URL) throws
    where Bytes.Element == UInt8 {
        let done: Void? = try bytes.withContiguousStorageIfAvailable { buffer in
            try write(UnsafeRawBufferPointer(buffer), to: url)
        }
        if done == nil {
            let copy = Array(bytes)
            try copy.withUnsafeBytes { try write($0, to: url) }
        }
    }

    /// Deletes leftover temporary files from interrupted `write(_:to:)` calls.
    ///
    /// Call it at start-up, before any writer runs in `directory`: it cannot tell
    /// a crashed writer's debris from a write still in progress in another
    /// process or thread. Only regular files whose name matches the exact
    /// temporary pattern are removed; everything else is left alone.
    /// - Returns: the URLs that were removed.
    @discardableResult
    public static func removeStaleTemporaryFiles(in directory: URL) throws -> [URL] {
        let dirPath = directory.path
        var removed: [URL] = []
        for name in try temporaryFileNames(in: dirPath) {
            let fileURL = directory.appendingPathComponent(name)
            let path = fileURL.path
            var info = stat()
            if lstat(path, &info) != 0 {
                if errno == ENOENT { continue }  // Someone else cleaned it up already.
                throw DurableIOError(path: path, syscall: "lstat", code: errno)
            }
            guard (info.st_mode & S_IFMT) == S_IFREG else { continue }
            if unlink(path) != 0 {
                if errno == ENOENT { continue }
                throw DurableIOError(path: path, syscall: "unlink", code: errno)
            }
            removed.append(fileURL)
        }
        if !removed.isEmpty { try fsyncDirectory(dirPath) }
        return removed
    }

    // MARK: - Implementation

    /// Names in `path` that match the temporary-file pattern, sorted.
    private static func temporaryFileNames(in path: String) throws -> [String] {
        guard let dir = opendir(path) else {
            throw DurableIOError(path: path, syscall: "opendir", code: errno)
        }
        var names: [String] = []
        var failure: DurableIOError?
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { failure = DurableIOError(path: path, syscall: "readdir", code: errno) }
                break
            }
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if TemporaryName.matches(name) { names.append(name) }
        }
        if closedir(dir) != 0, failure == nil {
            failure = DurableIOError(path: path, syscall: "closedir", code: errno)
        }
        if let failure { throw failure }
        return names.sorted()
    }

    private static func write(_ bytes: UnsafeRawBufferPointer, to url: URL) throws {
        let targetPath = url.path
        let directory = url.deletingLastPathComponent()
        let dirPath = directory.path
        let tempPath = directory.appendingPathComponent(TemporaryName.make(for: url.lastPathComponent)).path

        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw DurableIOError(path: tempPath, syscall: "open", code: errno)
        }
        var fdOpen = true
        var renamed = false
        defer {
            if fdOpen { _ = close(fd) }          // Already failing; the original error wins.
            if !renamed { _ = unlink(tempPath) } // Best effort: never leave debris behind.
        }

        var offset = 0
        while offset < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw DurableIOError(path: tempPath, syscall: "write", code: errno)
            }
            if n == 0 {  // Should not happen for regular files; avoid spinning forever.
                throw DurableIOError(path: tempPath, syscall: "write", code: EIO)
            }
            offset += n
        }
        if fsync(fd) != 0 {
            throw DurableIOError(path: tempPath, syscall: "fsync", code: errno)
        }
        fdOpen = false
        if close(fd) != 0 {  // NFS and friends report deferred write errors here.
            throw DurableIOError(path: tempPath, syscall: "close", code: errno)
        }
        if rename(tempPath, targetPath) != 0 {
            throw DurableIOError(path: targetPath, syscall: "rename", code: errno)
        }
        renamed = true
        try fsyncDirectory(dirPath)
    }

    /// Makes directory-entry changes (create, rename, unlink) durable.
    private static func fsyncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw DurableIOError(path: path, syscall: "open", code: errno) }
        if fsync(fd) != 0 {
            let code = errno
            _ = close(fd)
            throw DurableIOError(path: path, syscall: "fsync", code: code)
        }
        if close(fd) != 0 { throw DurableIOError(path: path, syscall: "close", code: errno) }
    }
}

/// `write(2)`, disambiguated from `DurableFile.write` inside the enum.
@inline(__always)
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}
