//! A field of this process's `/proc/self/status` (Linux), for the examples that print memory.
#![allow(dead_code)] // each example uses what it needs

/// The value of `field` (`VmRSS`, `VmHWM` ...) in KiB; 0 where it cannot be read.
pub fn kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.split_whitespace().next()?.parse().ok()))
        .unwrap_or(0)
}

/// CPU seconds this process has used, user and system, all threads (`/proc/self/stat` fields 14
/// and 15, in USER_HZ = 100 ticks on Linux); 0 where it cannot be read.
pub fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name, which is in parentheses and may hold spaces.
            let rest: Vec<&str> = s.rsplit_once(')')?.1.split_whitespace().collect();
            let ticks = |i: usize| rest.get(i)?.parse::<f64>().ok();
            Some((ticks(11)? + ticks(12)?) / 100.0)
        })
        .unwrap_or(0.0)
}
