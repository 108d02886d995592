//! A short, bounded fuzz run inside `cargo test`: the cargo-fuzz targets of
//! `fuzz/` (their bodies are included from `fuzz/src/targets.rs`) fed with
//! mutations of the repository's own pipelines, examples and bad-input
//! corpus. Deterministic (a fixed seed), so a failure is reproducible; the
//! long, coverage-guided runs are `cargo fuzz run TARGET` (fuzz/README.md).
//!
//! `ROLLCALL_FUZZ_SMOKE_ITERATIONS` raises the number of inputs per target
//! (default 1500), `ROLLCALL_FUZZ_SMOKE_SECONDS` the time cap per target
//! (default 20), and `ROLLCALL_FUZZ_SMOKE_SEED` changes the seed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[path = "../fuzz/src/targets.rs"]
#[allow(dead_code)]
mod targets;

/// Tokens that matter to the grammars under test.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\\",
    b"\\u",
    b"\\ud800",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\n",
    b"\r\n",
    b"\r",
    b"\0",
    b"\xff",
    b"\xfe\xff",
    b"\xef\xbb\xbf",
    b"\x1f\x8b",
    b"1e999",
    b"-0",
    b"null",
    b"#true",
    b"#null",
    b"(env)",
    b"(env)\"X\"",
    b"//",
    b"/-",
    b"/*",
    b"*/",
    b"r#\"",
    b"\"#",
    b"\"\"\"",
    b"\\\n",
    b";",
    b"=",
    b"''",
    b"\t",
    b"\xc3",
    b"\xe2\x80\xae",
    b"{}",
    b"[[[[[[[[",
    b"]]]]]]]]",
];

/// xorshift64*: small, fast and good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Applies one to eight random mutations to a copy of `seed`.
fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..=rng.below(8) {
        let len = data.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = TOKENS[rng.below(TOKENS.len())][0];
            }
            2 => {
                let i = rng.below(len + 1);
                let token = TOKENS[rng.below(TOKENS.len())];
                data.splice(i..i, token.iter().copied());
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let end = (i + 1 + rng.below(64)).min(len);
                data.drain(i..end);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let end = (i + 1 + rng.below(256)).min(len);
                let copy = data[i..end].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, copy);
            }
            5 => data.truncate(rng.below(len + 1)),
            6 if !other.is_empty() => {
                // Splice: the head of this input, the tail of another.
                let cut = rng.below(len + 1);
                let from = rng.below(other.len());
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            _ => {
                let i = rng.below(len + 1);
                let noise: Vec<u8> = (0..rng.below(16)).map(|_| rng.next() as u8).collect();
                data.splice(i..i, noise);
            }
        }
    }
    data.truncate(1 << 20);
    data
}

fn files(patterns: &[&str]) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds = Vec::new();
    for pattern in patterns {
        let dir = root.join(pattern);
        let (dir, suffix) = (
            dir.parent().unwrap(),
            dir.file_name().unwrap().to_str().unwrap(),
        );
        let suffix = suffix.trim_start_matches('*');
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && p.to_str().unwrap().ends_with(suffix))
            .collect();
        paths.sort();
        for path in paths {
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.truncate(16 << 10);
            seeds.push(bytes);
        }
    }
    assert!(!seeds.is_empty(), "no seeds for {patterns:?}");
    seeds
}

fn iterations() -> usize {
    std::env::var("ROLLCALL_FUZZ_SMOKE_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500)
}

/// Runs `target` on every seed and on mutations of them, for at most
/// `iterations()` inputs or the time cap; a panic saves the input and fails.
fn smoke(
    name: &str,
    seeds: Vec<Vec<u8>>,
    prepare: impl Fn(&mut Rng, Vec<u8>) -> Vec<u8>,
    target: fn(&[u8]),
) {
    let seed = std::env::var("ROLLCALL_FUZZ_SMOKE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_0008_u64);
    let mut rng = Rng(seed ^ name.len() as u64 ^ 0x9e37_79b9_7f4a_7c15);
    let seconds = std::env::var("ROLLCALL_FUZZ_SMOKE_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut executions = 0;
    for input in &seeds {
        execute(name, target, input, &mut executions);
    }
    while executions < iterations() && Instant::now() < deadline {
        let base = &seeds[rng.below(seeds.len())];
        let other = &seeds[rng.below(seeds.len())];
        let mutated = mutate(&mut rng, base, other);
        let input = prepare(&mut rng, mutated);
        execute(name, target, &input, &mut executions);
    }
    println!("fuzz smoke {name}: {executions} executions, 0 crashes");
}

/// Runs one input; a panic saves it and fails the test with how to replay it.
fn execute(name: &str, target: fn(&[u8]), input: &[u8], executions: &mut usize) {
    *executions += 1;
    if std::panic::catch_unwind(|| target(input)).is_err() {
        let path = std::env::temp_dir().join(format!("rollcall-fuzz-smoke-{name}-crash"));
        std::fs::File::create(&path)
            .unwrap()
            .write_all(input)
            .unwrap();
        panic!(
            "fuzz target {name} panicked after {executions} inputs; the input is saved in {} \
             (replay: cd fuzz && cargo fuzz run {name} {})",
            path.display(),
            path.display()
        );
    }
}

fn as_is(_: &mut Rng, data: Vec<u8>) -> Vec<u8> {
    data
}

#[test]
fn pipeline_language_never_panics() {
    let seeds = files(&[
        "pipelines/*.kdl",
        "tests/validate/good/*.kdl",
        "tests/validate/broken/*.kdl",
        "tests/bad-input/pipelines/*.kdl",
    ]);
    smoke("pipeline", seeds, as_is, targets::pipeline);
}

#[test]
fn fmt_never_panics_and_is_idempotent() {
    let seeds = files(&[
        "pipelines/*.kdl",
        "tests/validate/good/*.kdl",
        "tests/fmt/*.kdl",
    ]);
    smoke("fmt", seeds, as_is, targets::fmt);
}

#[test]
fn jsonl_decoder_never_panics() {
    let mut seeds = files(&["tests/bad-input/data/*.jsonl"]);
    let day1 =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/staff-sso/day-1.jsonl"))
            .unwrap();
    seeds.push(day1[..4000].to_vec());
    smoke("jsonl", seeds, as_is, targets::jsonl);
}

#[test]
fn json_array_decoder_never_panics() {
    smoke(
        "json_array",
        files(&["tests/bad-input/data/*.json"]),
        as_is,
        targets::json_array,
    );
}

#[test]
fn csv_decoder_never_panics() {
    // The first byte picks the CSV options (see targets::csv).
    smoke(
        "csv",
        files(&["tests/bad-input/data/*.csv"]),
        |rng, data| {
            let mut input = vec![rng.next() as u8];
            input.extend(data);
            input
        },
        targets::csv,
    );
}

#[test]
fn gzip_decoder_never_panics() {
    let seeds = files(&["tests/bad-input/data/*.gz", "tests/bad-input/data/*.jsonl"]);
    // Half the inputs are mutated gzip bytes; half are mutated text that is
    // then compressed, so the decoders behind gzip are reached too.
    smoke(
        "gzip",
        seeds,
        |rng, data| {
            if rng.below(2) == 0 {
                return data;
            }
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&data).unwrap();
            let mut out = gz.finish().unwrap();
            if rng.below(4) == 0 && !out.is_empty() {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            out
        },
        targets::gzip,
    );
}

#[test]
fn pipeline_loader_never_overflows_its_stack_on_nesting() {
    // The first two bytes pick the depth and what nests (see
    // targets::pipeline_nesting); the seed is the innermost text.
    let seeds = files(&[
        "tests/validate/good/*.kdl",
        "tests/bad-input/pipelines/*.kdl",
    ]);
    smoke(
        "pipeline_nesting",
        seeds,
        |rng, data| {
            let mut input = (rng.next() as u16).to_le_bytes().to_vec();
            input.extend(data);
            input
        },
        targets::pipeline_nesting,
    );
}

#[test]
fn json_fast_path_agrees_with_the_full_parse_on_repeated_members() {
    let mut seeds = files(&["tests/bad-input/data/*.jsonl"]);
    seeds.push(
        br#"{"person": {"id": "p1", "email": "a@example.org", "apps": [{"key": 1}, {"key": 2, "x": 3}], "tags": ["x"]}}"#
            .to_vec(),
    );
    seeds.push(
        br#"{"person": {"id": "p1", "apps": [{"key": 1, "key": 2}]}, "person": {"id": "p2"}}"#
            .to_vec(),
    );
    smoke("json_duplicates", seeds, as_is, targets::json_duplicates);
}
