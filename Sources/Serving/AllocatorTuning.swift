import CMalloc
import Dispatch

/// Keeps the server's resident memory tied to what it holds now, not to what it once held.
///
/// glibc raises its mmap threshold every time a large block is freed, so after the first model
/// swap, activation buffers and request bodies come from the heap arenas instead of fresh
/// mappings, and freed arena memory is rarely handed back: each promotion then left ~100 MB
/// resident. A fixed threshold keeps every large block its own mapping (returned on free), and a
/// trim after a snapshot is released returns what the arenas hold beyond that.
public enum AllocatorTuning {
    /// Blocks at least this large are mapped on their own and unmapped when freed: activation
    /// buffers and large uploads, not the small per-request arrays (whose mmap/munmap and page
    /// faults would cost more than they return).
    public static let mmapThreshold: Int32 = 4 << 20

    /// Call once at start-up, before the serving threads allocate. False where the C library
    /// has no such setting (not glibc).
    @discardableResult
    public static func keepLargeBlocksReturnable() -> Bool {
        cmalloc_set_mmap_threshold(mmapThreshold) == 1
    }

    /// Hands free arena memory back to the system, off the caller's thread (a trim can take
    /// milliseconds and may be requested from the batcher thread).
    public static func returnFreedMemorySoon() {
        DispatchQueue.global(qos: .utility).async { _ = cmalloc_trim() }
    }
}
