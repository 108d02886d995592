//! The operations examples (Dockerfile, Kubernetes CronJob, systemd timer)
//! say what docs/operations.md promises, and every `rollcall` command line
//! in them is one the binary accepts.

mod support;

use support::{parts, repo, rollcall};

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap()
}

/// Parses `args` up to `--help`: clap refuses an option the command does
/// not have before it gets there.
fn accepted(args: &[String]) {
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.push("--help");
    let (code, _, err) = parts(&rollcall().args(&args).output().unwrap());
    assert_eq!(code, 0, "rollcall {args:?}: {err}");
}

#[test]
fn the_dockerfile_is_multi_stage_and_runs_as_a_non_root_user() {
    let dockerfile = read("Dockerfile");
    let stages: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(stages.len(), 2, "{stages:?}");
    assert!(stages[1].contains("-slim"), "a small runtime image");
    assert!(dockerfile.contains("COPY --from=build /src/target/release/rollcall"));
    let user = dockerfile
        .lines()
        .rfind(|l| l.starts_with("USER "))
        .expect("a USER");
    assert!(!user.contains("root") && !user.contains(" 0"), "{user}");
    assert!(dockerfile.contains("ENTRYPOINT [\"rollcall\"]"));
    assert!(read(".dockerignore").lines().any(|l| l == "target"));
}

#[test]
fn the_cronjob_forbids_overlap_takes_secrets_from_env_and_runs_a_real_command() {
    let job = read("docs/kubernetes-cronjob.yaml");
    assert!(job.contains("concurrencyPolicy: Forbid"));
    assert!(job.contains("secretKeyRef"));
    assert!(job.contains("runAsNonRoot: true"));
    let args: Vec<String> = job
        .lines()
        .skip_while(|l| l.trim() != "args:")
        .skip(1)
        .take_while(|l| l.trim_start().starts_with("- "))
        .map(|l| l.trim_start().trim_start_matches("- ").to_owned())
        .collect();
    assert_eq!(args[0], "run", "{args:?}");
    accepted(&args);
}

#[test]
fn the_systemd_timer_starts_a_oneshot_service_running_a_real_command() {
    let service = read("docs/systemd/rollcall-staff-sso.service");
    assert!(service.contains("Type=oneshot"));
    assert!(service.contains("User=rollcall"));
    let exec = service
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    let words: Vec<String> = exec.split_whitespace().skip(1).map(str::to_owned).collect();
    accepted(&words);
    let timer = read("docs/systemd/rollcall-staff-sso.timer");
    assert!(timer.contains("OnCalendar=") && timer.contains("Persistent=true"));
}
