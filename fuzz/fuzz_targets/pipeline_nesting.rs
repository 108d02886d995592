#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rollcall_fuzz::targets::pipeline_nesting(data));
