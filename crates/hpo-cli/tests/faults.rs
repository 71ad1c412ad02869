//! The fault suite: `hpo` under what users and machines throw at it. Kills at random moments,
//! signals to the study and to its trial processes, two processes on one folder, a full disk,
//! a read-only folder, cut and garbled files, commands that hang, stay silent or print garbage,
//! and input too big to print. Every case asserts that no row is lost or repeated, that the
//! folder still resumes, and that the message and exit code say what happened (0 all trials
//! ran, 1 some failed or the study was interrupted, 2 bad input).
//!
//! Each case is a small command study (shell scripts, tens of milliseconds per iteration), so
//! the whole suite takes seconds. Unix only: it speaks in signals and process groups.

#![cfg(unix)]

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use hpo_core::seed::splitmix64;

fn hpo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hpo"))
}

/// A fresh folder for one case, removed when the case passes.
struct Case(PathBuf);

impl Case {
    fn new(tag: &str) -> Case {
        let dir = std::env::temp_dir().join(format!("hpo-faults-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Case(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Write an executable shell script and return its path as text.
    fn script(&self, name: &str, body: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("script");
        path.display().to_string()
    }

    /// Write a command study's config: `n` trials, `at_once` at a time, `max_iters` at most.
    fn config(
        &self,
        name: &str,
        n: usize,
        at_once: usize,
        max_iters: u64,
        objective: &str,
    ) -> PathBuf {
        let space = hpo_tests::REFERENCE_SPACE;
        let text = format!(
            r#"
[study]
seed = 11
num_samples = {n}
max_concurrent = {at_once}
checkpoint_every = 0
hit_threshold = 0.5

[resources]
cpus_per_trial = 1

{space}

[stoppers.max_iters]
max_iters = {max_iters}

[objective]
kind = "command"
{objective}
"#
        );
        let path = self.path(name);
        std::fs::write(&path, text).expect("config");
        path
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn curve() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/curve.sh")
        .display()
        .to_string()
}

/// The known curve of `tests/fixtures/curve.sh`, `iterations` long, `pause` seconds apart.
fn curve_objective(iterations: u64, pause: f64) -> String {
    format!(
        "command = [\"sh\", {:?}, \"{{lr}}\", \"{{num_epochs}}\", \"{iterations}\", \"0\", \"{pause}\"]",
        curve()
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn study(args: &[&str], config_or_dir: &Path, extra: &[&str]) -> Output {
    hpo().arg("study").args(args).arg(config_or_dir).args(extra).output().expect("run hpo")
}

fn new_study(config: &Path, out: &Path) -> Output {
    hpo()
        .args(["study", "--plain", "--config"])
        .arg(config)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run hpo")
}

fn resume(dir: &Path) -> Output {
    study(&["--plain", "--resume"], dir, &[])
}

#[track_caller]
fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// A study started in its own process group (as a shell's foreground job is).
fn spawn_study(config: &Path, out: &Path) -> Child {
    hpo()
        .process_group(0)
        .args(["study", "--plain", "--config"])
        .arg(config)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hpo")
}

fn data_rows(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().skip(1).map(String::from).collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Wait until `done` holds, failing after `secs` seconds.
#[track_caller]
fn wait_for(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a process runs (a zombie does not count: it has ended, its parent not yet reaped it).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.trim_start().chars().next()))
        .is_some_and(|state| state != Some('Z'))
}

fn pid_in(path: &Path) -> u32 {
    read(path).trim().parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill").args([sig, "--", &pid.to_string()]).status().expect("kill");
    assert!(ok.success(), "kill {sig} {pid}");
}

/// Every trial's progress rows: each iteration once, in order, from 1; returns their count.
#[track_caller]
fn assert_progress_whole(dir: &Path) -> usize {
    let mut total = 0;
    for entry in std::fs::read_dir(dir.join("trials")).expect("trials") {
        let path = entry.expect("entry").path().join("progress.csv");
        if !path.exists() {
            continue;
        }
        let body = read(&path);
        let mut lines = body.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
        let col = header.iter().position(|h| *h == "iteration");
        let col = col.unwrap_or_else(|| panic!("{}: header {header:?}", path.display()));
        let iterations: Vec<u64> = lines
            .map(|l| l.split(',').nth(col).and_then(|v| v.parse().ok()).expect("iteration"))
            .collect();
        let expected: Vec<u64> = (1..=iterations.len() as u64).collect();
        assert_eq!(iterations, expected, "{}", path.display());
        total += iterations.len();
    }
    total
}

/// The trial names of `predator_final.csv`, each once.
#[track_caller]
fn assert_final_once(dir: &Path, n: usize) -> Vec<String> {
    let rows = data_rows(&dir.join("predator_final.csv"));
    let names: BTreeSet<&str> = rows.iter().filter_map(|r| r.split(',').next()).collect();
    assert_eq!(rows.len(), n, "{rows:?}");
    assert_eq!(names.len(), n, "a trial twice: {rows:?}");
    rows
}

/// The stop reason column of a final row.
fn reason(row: &str) -> &str {
    row.split(',').nth(6).unwrap_or_default()
}

#[test]
fn sigkill_at_random_moments_loses_and_repeats_no_row_and_a_second_process_is_refused() {
    let case = Case::new("kill");
    let config = case.config("study.toml", 6, 2, 100, &curve_objective(15, 0.02));
    let whole = case.path("whole");
    assert_code(&new_study(&config, &whole), 0);
    let expected = data_rows(&whole.join("predator_final.csv"));
    let expected_hits = data_rows(&whole.join("predator_100_hits.csv"));
    assert_eq!(expected.len(), 6);

    let cut = case.path("cut");
    let mut seed = 7u64;
    let mut first = true;
    let mut kills = 0;
    for _ in 0..4 {
        let mut child = if first {
            spawn_study(&config, &cut)
        } else {
            hpo()
                .args(["study", "--plain", "--resume"])
                .arg(&cut)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn")
        };
        wait_for(30, "the study's lock", || cut.join("study.lock").exists());
        if first {
            // While it runs, a second process on the same folder is refused, naming the PID.
            wait_for(30, "the journal", || cut.join("journal.jsonl").exists());
            let out = resume(&cut);
            assert_code(&out, 2);
            let err = text(&out.stderr);
            assert!(err.contains(&format!("PID {}", child.id())), "{err}");
            assert!(err.contains("in use"), "{err}");
            let out = new_study(&config, &cut);
            assert_code(&out, 2);
            first = false;
        }
        std::thread::sleep(Duration::from_millis(50 + splitmix64(&mut seed) % 400));
        let finished = child.try_wait().expect("try_wait").is_some();
        if !finished {
            child.kill().expect("kill");
            kills += 1;
        }
        child.wait().expect("reap");
        // Whatever moment the kill hit, the rows on disk are a prefix of the whole study's
        // (each trial once) and each trial's iterations are whole.
        let rows = data_rows(&cut.join("predator_final.csv"));
        let mut sorted_expected = expected.clone();
        sorted_expected.sort();
        for row in &rows {
            assert!(sorted_expected.contains(row), "a row the whole study has not: {row}");
        }
        assert_eq!(rows.iter().collect::<BTreeSet<_>>().len(), rows.len(), "{rows:?}");
        assert_progress_whole(&cut);
    }
    assert!(kills >= 2, "the study was killed while it ran ({kills} kills)");
    // The dead holder's lock file is still there; the next process takes it over.
    assert!(cut.join("study.lock").exists());
    let out = resume(&cut);
    assert_code(&out, 0);
    // Two trials at once end in an order of their own: the rows are compared as sets.
    let sorted = |mut rows: Vec<String>| {
        rows.sort();
        rows
    };
    assert_eq!(sorted(data_rows(&cut.join("predator_final.csv"))), sorted(expected));
    assert_eq!(sorted(data_rows(&cut.join("predator_100_hits.csv"))), sorted(expected_hits));
    assert_eq!(assert_progress_whole(&cut), assert_progress_whole(&whole));
}

/// A command that records its own PID and that of a grandchild it leaves running (`sleep`),
/// then reports slowly: what `sh wrapper.sh` around a Python training looks like.
fn wrapper_script(case: &Case) -> String {
    case.script(
        "wrapper.sh",
        r#"echo $$ > "$HPO_TRIAL_DIR/command.pid"
echo $PPID > "$HPO_TRIAL_DIR/worker.pid"
sleep 300 &
echo $! > "$HPO_TRIAL_DIR/grandchild.pid"
i=1
while [ $i -le 8 ]; do
  echo "score_pred=0.$i iteration=$i"
  sleep 0.1
  i=$((i + 1))
done"#,
    )
}

#[test]
fn sigterm_interrupts_the_study_kills_its_commands_and_resume_reruns_them() {
    let case = Case::new("term");
    let objective = format!("command = [\"sh\", {:?}]", wrapper_script(&case));
    let config = case.config("study.toml", 2, 1, 100, &objective);
    let dir = case.path("study");
    let child = spawn_study(&config, &dir);
    let grandchild = dir.join("trials/trial_0000/grandchild.pid");
    wait_for(30, "the first trial's command", || grandchild.exists());
    std::thread::sleep(Duration::from_millis(150));
    let (command, sleeper) =
        (pid_in(&dir.join("trials/trial_0000/command.pid")), pid_in(&grandchild));
    signal(child.id(), "-TERM");
    let out = child.wait_with_output().expect("wait");
    assert_code(&out, 1);
    assert!(text(&out.stdout).contains("--resume"), "it says how to resume");
    let rows = data_rows(&dir.join("predator_final.csv"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(reason(&rows[0]), "interrupted");
    // The command and what it started are gone, not orphans.
    wait_for(5, "the command's process group to end", || !alive(command) && !alive(sleeper));

    let out = resume(&dir);
    assert_code(&out, 0);
    let rows = assert_final_once(&dir, 2);
    assert!(rows.iter().all(|r| reason(r) == "completed"), "{rows:?}");
    assert_eq!(assert_progress_whole(&dir), 16);
    // A trial that ends on its own takes its leftover grandchild with it.
    let last = pid_in(&dir.join("trials/trial_0001/grandchild.pid"));
    wait_for(5, "the finished trial's grandchild to end", || !alive(last));
}

#[test]
fn a_second_ctrl_c_quits_at_once_naming_the_folder_and_the_study_still_resumes() {
    let case = Case::new("twice");
    // A command that shrugs off SIGTERM, so stopping it takes the whole grace second.
    let script = case.script(
        "stubborn.sh",
        r#"trap '' TERM
i=1
while [ $i -le 20 ]; do echo "score_pred=0.$i"; sleep 0.05; i=$((i + 1)); done"#,
    );
    let config = case.config("study.toml", 2, 1, 100, &format!("command = [\"sh\", {script:?}]"));
    let dir = case.path("study");
    let child = spawn_study(&config, &dir);
    let progress = dir.join("trials/trial_0000/progress.csv");
    wait_for(30, "the first trial's rows", || data_rows(&progress).len() >= 2);
    let group = format!("-{}", child.id());
    signal_group(&group);
    std::thread::sleep(Duration::from_millis(300));
    signal_group(&group);
    let out = child.wait_with_output().expect("wait");
    assert_code(&out, 130);
    let err = text(&out.stderr);
    assert!(err.contains(&format!("hpo study --resume {}", dir.display())), "{err}");
    assert!(!err.contains("<DIR>"), "{err}");
    assert_code(&resume(&dir), 0);
    assert_final_once(&dir, 2);
    assert_eq!(assert_progress_whole(&dir), 40);
}

/// Ctrl-C as a terminal sends it: to the whole foreground process group.
fn signal_group(group: &str) {
    let ok = Command::new("kill").args(["-INT", "--", group]).status().expect("kill");
    assert!(ok.success(), "kill -INT {group}");
}

#[test]
fn sigkill_of_the_study_takes_its_commands_down_and_of_a_trial_worker_ends_that_trial_as_error() {
    let case = Case::new("orphans");
    let objective = format!("command = [\"sh\", {:?}]", wrapper_script(&case));
    let config = case.config("study.toml", 3, 1, 100, &objective);
    let dir = case.path("study");

    // SIGKILL of the study: the trial worker notices and ends its command's whole group.
    let mut child = spawn_study(&config, &dir);
    let trial0 = dir.join("trials/trial_0000");
    wait_for(30, "the first command", || trial0.join("grandchild.pid").exists());
    let (command, sleeper) =
        (pid_in(&trial0.join("command.pid")), pid_in(&trial0.join("grandchild.pid")));
    child.kill().expect("kill");
    child.wait().expect("reap");
    wait_for(10, "the orphaned command to be killed", || !alive(command) && !alive(sleeper));

    // SIGKILL of a trial worker: that trial is an `error`, the study goes on and exits 1.
    let mut child = hpo()
        .args(["study", "--plain", "--resume"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let trial1 = dir.join("trials/trial_0001");
    wait_for(30, "the second trial's command", || trial1.join("worker.pid").exists());
    wait_for(30, "the second trial's grandchild", || trial1.join("grandchild.pid").exists());
    signal(pid_in(&trial1.join("worker.pid")), "-KILL");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(1));
    // The dead worker could not end its command's group: the study did.
    let sleeper = pid_in(&trial1.join("grandchild.pid"));
    wait_for(5, "the dead worker's command group to end", || !alive(sleeper));
    let rows = assert_final_once(&dir, 3);
    let reasons: Vec<&str> = rows.iter().map(|r| reason(r)).collect();
    assert_eq!(reasons, ["completed", "error", "completed"], "{rows:?}");
    assert_progress_whole(&dir);
    // The study is whole: resuming it again runs nothing and changes nothing.
    let out = resume(&dir);
    assert_code(&out, 1);
    assert_eq!(data_rows(&dir.join("predator_final.csv")), rows);
}

#[test]
fn hung_silent_endless_empty_and_garbage_commands_each_end_as_they_should() {
    let case = Case::new("commands");
    let script = case.script(
        "faulty.sh",
        r#"case "$HPO_TRIAL" in
0) echo score_pred=0.1
   sleep 300 &
   echo $! > "$HPO_TRIAL_DIR/grandchild.pid"
   wait ;;
1) sleep 300 ;;
2) while :; do echo score_pred=0.2; sleep 0.05; done ;;
3) echo "training without reports"; exit 0 ;;
4) echo "score_pred=0.5 status=ok"
   printf '\377\376 binary \001\002\n'
   printf 'score_pred=0.6 note=\377\n'
   echo "score_pred=0.65 note=again"
   head -c 1500000 /dev/zero | tr '\0' x
   echo
   echo score_pred=0.7 ;;
esac"#,
    );
    let objective =
        format!("command = [\"sh\", {script:?}]\ntimeout_s = 2.5\niteration_timeout_s = 1.0");
    let config = case.config("study.toml", 5, 5, 1000, &objective);
    let dir = case.path("study");
    let out = new_study(&config, &dir);
    assert_code(&out, 1);
    let err = text(&out.stderr);
    let rows = assert_final_once(&dir, 5);
    let reason_of =
        |trial: &str| rows.iter().find(|r| r.starts_with(trial)).map(|r| reason(r).to_string());
    for trial in ["trial_0000", "trial_0001", "trial_0002", "trial_0003"] {
        assert_eq!(reason_of(trial).as_deref(), Some("error"), "{trial}: {rows:?}");
    }
    assert_eq!(reason_of("trial_0004").as_deref(), Some("completed"), "{rows:?}");
    // Each error names its cause.
    let journal = read(&dir.join("journal.jsonl"));
    let ends: Vec<&str> = journal.lines().filter(|l| l.contains("trial_finished")).collect();
    let end_of = |n: u64| {
        ends.iter().find(|l| l.contains(&format!("\"trial\":{n},"))).copied().unwrap_or_default()
    };
    assert!(end_of(0).contains("objective.iteration_timeout_s"), "{}", end_of(0));
    assert!(end_of(1).contains("objective.iteration_timeout_s"), "{}", end_of(1));
    assert!(end_of(2).contains("objective.timeout_s"), "{}", end_of(2));
    assert!(end_of(3).contains("without reporting any iteration"), "{}", end_of(3));
    assert!(err.contains("without reporting any iteration"), "{err}");
    // Between a trial's start and end, `--plain` tells how far it is.
    assert!(err.contains("trial_0002 iter    1/1000"), "{err}");
    // The hung command's grandchild went with its group.
    let sleeper = pid_in(&dir.join("trials/trial_0000/grandchild.pid"));
    wait_for(5, "the hung command's grandchild to end", || !alive(sleeper));
    // Garbage is reported and skipped; every numeric value on a line counts.
    let progress = read(&dir.join("trials/trial_0004/progress.csv"));
    let scores: Vec<&str> =
        progress.lines().skip(1).map(|l| l.split(',').nth(1).unwrap_or("")).collect();
    assert!(progress.starts_with("iteration,score_pred"), "{progress}");
    assert_eq!(scores, ["0.5", "0.6", "0.65", "0.7"], "{progress}");
    for note in [
        "`status` is not a number (`ok`)",
        "`note` is not a number",
        "not UTF-8",
        "over the 1048576-byte limit",
    ] {
        assert!(err.contains(note), "{note:?} not in {err}");
    }
    assert_eq!(err.matches("`note` is not a number").count(), 1, "once per name: {err}");
    assert!(err.len() < 20_000, "stderr stays short: {} bytes", err.len());
}

#[test]
fn parameters_reach_the_command_raw_and_the_trial_folder_is_absolute_under_another_cwd() {
    let case = Case::new("params");
    let elsewhere = case.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("cwd");
    let script = case.script(
        "echo.sh",
        r#"printf '%s|%s|%s\n' "$1" "$HPO_PARAM_OPTIMIZER" "$PWD" > "$2/seen.txt"
echo score_pred=0.3"#,
    );
    let text_config = format!(
        r#"
[study]
seed = 1
num_samples = 4
max_concurrent = 1
checkpoint_every = 0

[resources]
cpus_per_trial = 1

[space.optimizer]
type = "categorical"
choices = ["adam", 'a"b c']

[objective]
kind = "command"
command = ["sh", {script:?}, "{{optimizer}}", "{{trial_dir}}"]
cwd = {:?}
"#,
        elsewhere.display().to_string()
    );
    let config = case.path("study.toml");
    std::fs::write(&config, text_config).expect("config");
    // Relative `--out`, so only an absolute `{trial_dir}` finds the folder from `cwd`.
    let out = hpo()
        .current_dir(&case.0)
        .args(["study", "--plain", "--config", "study.toml", "--out", "rel"])
        .output()
        .expect("run");
    assert_code(&out, 0);
    let mut seen = BTreeSet::new();
    for n in 0..4 {
        let line = read(&case.path(&format!("rel/trials/trial_{n:04}/seen.txt")));
        let parts: Vec<&str> = line.trim_end().split('|').collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert_eq!(parts[0], parts[1], "argument and environment agree: {line}");
        assert!(["adam", "a\"b c"].contains(&parts[0]), "passed raw: {line}");
        assert_eq!(Path::new(parts[2]), elsewhere.as_path(), "{line}");
        seen.insert(parts[0].to_string());
    }
    assert!(!seen.is_empty());
    assert!(!elsewhere.join("rel").exists(), "nothing written relative to cwd");
}

#[test]
fn damaged_views_and_a_cut_journal_line_are_rebuilt_on_resume() {
    let case = Case::new("damaged");
    let config = case.config("study.toml", 4, 2, 100, &curve_objective(12, 0.0));
    let dir = case.path("study");
    assert_code(&new_study(&config, &dir), 0);
    let names = ["predator_final.csv", "predator_100_hits.csv", "trials/trial_0000/progress.csv"];
    let before: Vec<String> = names.iter().map(|n| read(&dir.join(n))).collect();
    assert!(!data_rows(&dir.join("predator_100_hits.csv")).is_empty(), "{}", before[1]);

    // A full disk left a 0-byte progress file; a hits file disagrees with the journal; the
    // final file lost its last row; a crash cut the journal's last line, newline and all.
    std::fs::write(dir.join(names[2]), "").expect("empty");
    std::fs::write(dir.join(names[1]), format!("{}trial_0009,1,0.99,1e-4,22\n", before[1]))
        .expect("hits");
    let mut lines: Vec<&str> = before[0].lines().collect();
    lines.pop();
    std::fs::write(dir.join(names[0]), format!("{}\n", lines.join("\n"))).expect("final");
    let journal = dir.join("journal.jsonl");
    let mut body = read(&journal);
    body.push_str("{\"event\":\"result\",\"ts\":1.0,\"tri\n");
    std::fs::write(&journal, &body).expect("journal");

    let out = resume(&dir);
    assert_code(&out, 0);
    assert!(text(&out.stderr).contains("last line was cut"), "{}", text(&out.stderr));
    for (name, old) in names.iter().zip(&before) {
        assert_eq!(&read(&dir.join(name)), old, "{name} rebuilt from the journal");
    }
    assert!(!read(&journal).contains("\"tri\n"), "the cut line is gone");
    // And again: the folder stays resumable.
    assert_code(&resume(&dir), 0);
    assert_eq!(read(&dir.join(names[0])), before[0]);

    // A garbled line inside the journal is a clear error naming the line; nothing is touched.
    let mut garbled: Vec<String> = read(&journal).lines().map(String::from).collect();
    garbled[2] = "{\"event\": 17}".to_string();
    std::fs::write(&journal, garbled.join("\n") + "\n").expect("journal");
    let out = resume(&dir);
    let err = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("journal.jsonl line 3 is not a journal event"), "{err}");
    assert_eq!(read(&dir.join(names[0])), before[0], "rows kept");
    // The way out it names: drop the line and those after it; the study runs on from there.
    std::fs::write(&journal, garbled[..2].join("\n") + "\n").expect("journal");
    assert_code(&resume(&dir), 0);
    let sorted = |text: &str| {
        let mut rows: Vec<&str> = text.lines().collect();
        rows.sort_unstable();
        rows.join("\n")
    };
    assert_eq!(sorted(&read(&dir.join(names[0]))), sorted(&before[0]));
    assert_progress_whole(&dir);
}

/// A tmpfs of `size` at `dir` (root only), unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(dir.to_path_buf()))
    }

    fn remount(&self, options: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "remount {options}");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_and_a_read_only_folder_stop_the_study_clearly_and_lose_no_row() {
    let case = Case::new("disk");
    // Long metric lines, so the disk fills within a few iterations.
    let script = case.script(
        "wide.sh",
        r#"i=1
while [ $i -le 20 ]; do
  printf 'score_pred=0.%s iteration=%s' $i $i
  j=0; while [ $j -lt 40 ]; do printf ' metric_%s=%s.5' $j $j; j=$((j + 1)); done
  echo
  i=$((i + 1))
done"#,
    );
    let config = case.config("study.toml", 6, 1, 100, &format!("command = [\"sh\", {script:?}]"));
    let whole = case.path("whole");
    assert_code(&new_study(&config, &whole), 0);
    let expected = data_rows(&whole.join("predator_final.csv"));

    let dir = case.path("small");
    match Mount::tmpfs(&dir, "96k") {
        Some(mount) => {
            // A real full disk: the study stops with the OS's message, once.
            let out = new_study(&config, &dir.join("study"));
            let err = text(&out.stderr);
            assert_code(&out, 1);
            assert_eq!(err.matches("No space left on device").count(), 1, "{err}");
            let study = dir.join("study");
            let kept = data_rows(&study.join("predator_final.csv"));
            assert!(kept.len() < 6, "the disk filled before the end");
            // A read-only folder: a clear message, and nothing in it changes.
            mount.remount("ro");
            let out = resume(&study);
            let err = text(&out.stderr);
            assert_code(&out, 1);
            assert!(err.contains("Read-only file system"), "{err}");
            assert_eq!(data_rows(&study.join("predator_final.csv")), kept);
            // Room again: the study resumes and ends as if the disk had never filled.
            mount.remount("rw,size=16m");
            assert_code(&resume(&study), 0);
            assert_eq!(data_rows(&study.join("predator_final.csv")), expected);
            assert_progress_whole(&study);
            assert_eq!(
                read(&study.join("trials/trial_0000/progress.csv")),
                read(&whole.join("trials/trial_0000/progress.csv"))
            );
        }
        None => {
            // No mount here (not root): the same failure, injected with /dev/full, and a
            // folder whose mode forbids writing.
            let study = dir.join("study");
            assert_code(&new_study(&config, &study), 0);
            std::os::unix::fs::symlink("/dev/full", study.join("predator_100_hits.csv.rebuild"))
                .expect("symlink");
            let out = resume(&study);
            let err = text(&out.stderr);
            assert_code(&out, 1);
            assert_eq!(err.matches("No space left on device").count(), 1, "{err}");
            assert_eq!(data_rows(&study.join("predator_final.csv")), expected);
            std::fs::remove_file(study.join("predator_100_hits.csv.rebuild")).expect("rm");
            assert_code(&resume(&study), 0);
            assert_eq!(data_rows(&study.join("predator_final.csv")), expected);
        }
    }
    // The injected failure runs everywhere: a view that cannot be rewritten on resume.
    std::os::unix::fs::symlink("/dev/full", whole.join("predator_final.csv.rebuild"))
        .expect("symlink");
    let out = resume(&whole);
    assert_code(&out, 1);
    assert!(text(&out.stderr).contains("No space left on device"), "{}", text(&out.stderr));
    assert_eq!(data_rows(&whole.join("predator_final.csv")), expected, "nothing lost");
    std::fs::remove_file(whole.join("predator_final.csv.rebuild")).expect("rm");
    assert_code(&resume(&whole), 0);
    assert_eq!(data_rows(&whole.join("predator_final.csv")), expected);
}

#[test]
fn bad_flags_and_huge_bad_input_get_short_clear_messages_and_exit_2() {
    let case = Case::new("input");
    let config = case.config("study.toml", 2, 1, 100, &curve_objective(3, 0.0));
    let dir = case.path("study");
    assert_code(&new_study(&config, &dir), 0);

    // `--seed` with `--resume` would give resumed trials new seeds.
    let out = study(&["--plain", "--resume"], &dir, &["--seed", "7"]);
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("--seed"), "{}", text(&out.stderr));
    // No study chosen: refused, naming the choices (the reference study takes days).
    let out = hpo().args(["study", "--plain"]).output().expect("run");
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains("--preset") && err.contains("--config"), "{err}");

    // A 10 MB one-line config with control bytes: a short, printable message.
    let huge = case.path("huge.toml");
    let mut junk = String::from("[study]\nseed = \"");
    junk.push_str(&"\u{1b}[31mx\u{7}".repeat(1_000_000));
    junk.push('"');
    std::fs::write(&huge, junk).expect("huge");
    let out = study(&["--plain", "--config"], &huge, &[]);
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(err.len() < 4_000, "{} bytes on stderr", err.len());
    assert!(!err.chars().any(|c| c.is_control() && c != '\n'), "raw control bytes: {err:?}");
    assert!(err.contains("study.seed") || err.contains("seed"), "{err}");

    // Binary input, seeded: a config and a replay events file of random bytes.
    let mut state = 3u64;
    let bytes: Vec<u8> = (0..400_000).map(|_| splitmix64(&mut state) as u8).collect();
    let binary = case.path("binary.toml");
    std::fs::write(&binary, &bytes).expect("binary");
    let out = study(&["--plain", "--config"], &binary, &[]);
    assert_code(&out, 2);
    assert!(text(&out.stderr).len() < 4_000, "{}", text(&out.stderr));
    let events = case.path("events.csv");
    std::fs::write(&events, [b"event,trial,iteration,value\n".as_slice(), &bytes].concat())
        .expect("events");
    let out = hpo()
        .args(["replay", "--config"])
        .arg(&config)
        .arg("--events")
        .arg(&events)
        .output()
        .expect("replay");
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(err.len() < 4_000 && err.contains("events.csv line"), "{err}");

    // Misleading messages of before: a missing cwd, a space error, an OS error twice.
    let no_cwd = case.path("nocwd.toml");
    std::fs::write(&no_cwd, read(&config) + "cwd = \"/no/such/folder\"\n").expect("config");
    let out = study(&["--plain", "--config"], &no_cwd, &[]);
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains("objective.cwd") && err.contains("/no/such/folder"), "{err}");
    let bad_space = case.path("space.toml");
    std::fs::write(&bad_space, read(&config).replace("low = 22", "low = 40")).expect("config");
    let out = study(&["--plain", "--config"], &bad_space, &[]);
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains("num_epochs") && !err.contains("space.lr"), "{err}");
    let out = hpo().args(["report", "/no/such/study"]).output().expect("run");
    let err = text(&out.stderr);
    assert_code(&out, 2);
    assert!(err.matches("No such file or directory").count() <= 1, "{err}");
}

#[test]
fn report_into_a_closed_pipe_ends_quietly_and_names_the_same_best_trial_as_the_study() {
    let case = Case::new("report");
    // Every trial reports the same values: the best is a tie, broken by the lowest number.
    let script =
        case.script("flat.sh", "echo score_pred=0.4\necho score_pred=0.6\necho score_pred=0.6");
    let config = case.config("study.toml", 3, 3, 100, &format!("command = [\"sh\", {script:?}]"));
    let dir = case.path("study");
    let out = new_study(&config, &dir);
    assert_code(&out, 0);
    let summary = text(&out.stdout);
    assert!(summary.contains("best: trial_0000"), "{summary}");
    let out = hpo().arg("report").arg(&dir).output().expect("report");
    assert_code(&out, 0);
    assert!(text(&out.stdout).contains("best trial: trial_0000"), "{}", text(&out.stdout));

    // `hpo report DIR | head -1`: the reader goes away after one line.
    let mut child = hpo()
        .arg("report")
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 1];
    std::io::Read::read_exact(&mut stdout, &mut first).expect("one byte");
    drop(stdout);
    let out = child.wait_with_output().expect("wait");
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_code(&out, 0);
}
