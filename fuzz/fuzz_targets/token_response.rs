//! libFuzzer entry for the `token_response` target; the body lives in `fuzz/targets.rs`.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::token_response(data));
