//! The benchmark (issue 7) run small, so it keeps working: 10k records,
//! one repetition, through the real binary. No timing is asserted; the
//! harness itself checks every run's counts against what the generator
//! put in the extracts, and the report must come out whole.

mod support;

use rollcall_bench::generate::{self, Day, Spec};
use rollcall_bench::report::{self, Config};
use support::repo;

#[test]
fn benchmark_runs_end_to_end_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        sizes: vec![10_000],
        reps: 1,
        churn: (0.001, 0.001, 0.01),
        rollcall: env!("CARGO_BIN_EXE_rollcall").into(),
        pipeline: repo().join("pipelines/staff-sso.kdl"),
        data: dir.path().to_owned(),
        clean: true,
    };
    let mut out = Vec::new();
    let results = report::run(&config, &mut out).expect("the benchmark runs");
    let text = String::from_utf8(out).unwrap();
    println!("{text}");

    let [result] = results.as_slice() else {
        panic!("one size measured: {results:?}")
    };
    assert_eq!(result.spec, report::spec_for(&config, 10_000));
    let expected = result.spec.expected_day2();
    assert_eq!(
        (expected.created, expected.updated, expected.removed),
        (10, 100, 10)
    );
    assert_eq!(result.first_load.records, 10_000);
    assert_eq!(result.day_two.records, 10_000);
    for phase in [&result.first_load, &result.day_two] {
        assert_eq!(phase.runs.len(), 1);
        assert_eq!(phase.floors.len(), 1);
        assert!(phase.median() > 0.0 && phase.floor() > 0.0);
        // CI installs GNU time (.ci/install-test-servers), so RSS is measured there.
        if rollcall_bench::measure::rss_available() {
            assert!(phase.peak_rss_mb().is_some_and(|mb| mb > 1.0), "{phase:?}");
        }
    }
    assert!(text.contains("| 10000 | first load | 10000 |"), "{text}");
    assert!(text.contains("| 10000 | day 2 | 10000 |"), "{text}");
    assert!(text.contains("### Targets (at N = 10000)"), "{text}");
    // `clean` removed the extracts; the scratch stores are always removed.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // The generator alone: day 2 of the same spec has the same bytes every time.
    let spec = Spec::typical(300);
    let a = dir.path().join("a.jsonl.gz");
    let b = dir.path().join("b.jsonl.gz");
    assert_eq!(
        generate::write(&spec, Day::Two, &a).unwrap(),
        spec.lines(Day::Two)
    );
    generate::write(&spec, Day::Two, &b).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}
