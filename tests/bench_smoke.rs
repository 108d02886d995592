//! The benchmark (issue 7) run small, so it keeps working: 10k records,
//! one repetition, through the real binary, on SQLite and PostgreSQL. No timing is asserted; the
//! harness itself checks every run's counts against what the generator
//! put in the extracts, and the report must come out whole.

mod support;

use rollcall_bench::generate::{self, Day, Spec};
use rollcall_bench::report::{self, Config, Profile};
use support::repo;

#[test]
fn benchmark_runs_end_to_end_with_both_profiles_and_the_peer() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        sizes: vec![10_000],
        reps: 1,
        profiles: vec![Profile::TYPICAL, Profile::HEAVY],
        linearity: Some(20_000),
        rollcall: env!("CARGO_BIN_EXE_rollcall").into(),
        pipeline: repo().join("pipelines/staff-sso.kdl"),
        // CI installs DuckDB (.ci/install-test-servers); without it the peer
        // fails the run and says so.
        peer: Some(repo().join("bench/peer/duckdb_sync.py")),
        data: dir.path().to_owned(),
        clean: true,
        // Every run repeated against the test PostgreSQL (testkit).
        postgres: Some(rollcall_bench::postgres::Server::new(
            rollcall_testkit::postgres::server().admin_url(),
        )),
    };
    let mut out = Vec::new();
    let results = report::run(&config, &mut out).expect("the benchmark runs");
    let text = String::from_utf8(out).unwrap();
    println!("{text}");

    let [result, once] = results.as_slice() else {
        panic!("one size and the linearity run measured: {results:?}")
    };
    assert!(!result.linearity && once.linearity);
    let [(typical, spec, _), (heavy, heavy_spec, _)] = result.day_two.as_slice() else {
        panic!("both profiles measured: {:?}", result.day_two)
    };
    assert_eq!((typical, heavy), (&Profile::TYPICAL, &Profile::HEAVY));
    assert_eq!(spec, &report::spec_for(&Profile::TYPICAL, 10_000));
    let churn = |s: &generate::Spec| {
        let e = s.expected_day2();
        (e.created, e.updated, e.removed)
    };
    assert_eq!(churn(spec), (10, 100, 10));
    assert_eq!(churn(heavy_spec), (100, 500, 100));
    assert_eq!(
        once.day_two.len(),
        1,
        "the linearity run measures one profile"
    );
    let phases = std::iter::once(&result.first_load)
        .chain(result.day_two.iter().map(|(_, _, p)| p))
        .collect::<Vec<_>>();
    for phase in &phases {
        assert_eq!(phase.runs.len(), 1);
        assert_eq!(phase.floors.len(), 1);
        assert_eq!(phase.peers.len(), 1, "the peer ran beside rollcall");
        assert_eq!(phase.postgres.len(), 1, "PostgreSQL ran beside SQLite");
        assert!(
            phase.postgres_bytes > 0,
            "the PostgreSQL database was sized"
        );
        assert!(phase.median() > 0.0 && phase.floor() > 0.0);
        // A store holds at least its keys, and far less than a megabyte a person.
        let per = phase.bytes_per_record();
        assert!(per > 36.0 && per < 1e6, "{per} bytes per person");
        // CI installs GNU time (.ci/install-test-servers), so RSS is measured there.
        if rollcall_bench::measure::rss_available() {
            assert!(phase.peak_rss_mb().is_some_and(|mb| mb > 1.0), "{phase:?}");
        }
    }
    assert_eq!(
        result.plan.as_ref().map(|p| p.runs.len()),
        Some(1),
        "plan of the first load was timed"
    );
    assert!(once.plan.is_none(), "not at the linearity size");
    for row in [
        "| 10000 | first load | 10000 |",
        "| 10000 | day 2, typical | 10000 |",
        "| 10000 | day 2, heavy | 10000 |",
        "| 10000 | plan of the first load | 10000 |",
        "| 20000 (once) | day 2, typical | 20000 |",
        "### Targets (at N = 10000)",
        "- day 2, heavy faster than the peer: ",
        "- store ≤ 600 bytes per person: ",
        "- peak RSS of plan of the first load",
        "- per-record cost 10000 → 20000 (first load)",
    ] {
        assert!(text.contains(row), "{row:?} missing from:\n{text}");
    }
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
