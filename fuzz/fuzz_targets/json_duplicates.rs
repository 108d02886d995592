#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rollcall_fuzz::targets::json_duplicates(data));
