//! The wire parser and every fold on whatever it accepts: no input may panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    domain::fuzzing::parse_and_fold(text);
});
