//! A field of this process's `/proc/self/status` (Linux), for the examples that print memory.

/// The value of `field` (`VmRSS`, `VmHWM` ...) in KiB; 0 where it cannot be read.
pub fn kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.split_whitespace().next()?.parse().ok()))
        .unwrap_or(0)
}
