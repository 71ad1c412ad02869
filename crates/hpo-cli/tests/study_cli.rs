//! `hpo study` from the outside: a killed study resumes without lost or repeated rows, config
//! errors name the key, a non-empty folder is refused, and the smoke preset runs PPO end to end.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn hpo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hpo"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hpo-study-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn curve() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/curve.sh")
        .display()
        .to_string()
}

/// One trial at a time, so the study is a function of its seed; each iteration takes 20 ms.
fn slow_config(dir: &Path) -> PathBuf {
    let space = hpo_tests::REFERENCE_SPACE;
    let text = format!(
        r#"
[study]
seed = 5
num_samples = 5
max_concurrent = 1
checkpoint_every = 0
hit_threshold = 0.8

[resources]
cpus_per_trial = 1

{space}

[scheduler]
kind = "asha"
max_t = 45
grace_period = 5
reduction_factor = 3

[stoppers.plateau]
std = 0.004
num_results = 5
grace_period = 10

[stoppers.max_iters]
max_iters = 45

[objective]
kind = "command"
command = ["sh", {:?}, "{{lr}}", "{{num_epochs}}", "80", "0", "0.02"]
"#,
        curve()
    );
    let path = dir.join("study.toml");
    std::fs::write(&path, text).expect("config");
    path
}

fn data_rows(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().skip(1).map(String::from).collect()
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run hpo");
    assert!(
        out.status.success(),
        "hpo failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Start `hpo study` on `config` into `out` and return once `rows` final rows are written.
fn spawn_until_rows(config: &Path, out: &Path, rows: usize, stdout: Stdio) -> std::process::Child {
    // In a process group of its own, as a shell's foreground job is, so a test can signal
    // the group the way a terminal's Ctrl-C does.
    let child = hpo()
        .process_group(0)
        .args(["study", "--plain", "--config"])
        .arg(config)
        .arg("--out")
        .arg(out)
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    while data_rows(&out.join("predator_final.csv")).len() < rows {
        assert!(Instant::now() < deadline, "the study did not progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn a_killed_study_resumes_with_no_lost_or_repeated_rows() {
    let dir = temp_dir("resume");
    let config = slow_config(&dir);
    // The study that is never interrupted.
    let whole = dir.join("whole");
    run_ok(hpo().args(["study", "--plain", "--config"]).arg(&config).arg("--out").arg(&whole));
    let expected = data_rows(&whole.join("predator_final.csv"));
    assert_eq!(expected.len(), 5);

    // The same study, killed (SIGKILL) once two trials have ended, then resumed.
    let cut = dir.join("cut");
    let mut child = spawn_until_rows(&config, &cut, 2, Stdio::null());
    child.kill().expect("kill");
    child.wait().expect("reap");
    let before = data_rows(&cut.join("predator_final.csv"));
    assert!(before.len() < 5, "killed before the end");

    let out = run_ok(hpo().args(["study", "--plain", "--resume"]).arg(&cut));
    assert!(out.contains("5 trials finished"), "{out}");
    let after = data_rows(&cut.join("predator_final.csv"));
    // Rows written before the kill are kept as they were, none is repeated, and the whole
    // file equals the uninterrupted study's.
    assert_eq!(&after[..before.len()], &before[..]);
    assert_eq!(after, expected);
    assert_eq!(
        data_rows(&cut.join("predator_100_hits.csv")),
        data_rows(&whole.join("predator_100_hits.csv"))
    );
    let journal = std::fs::read_to_string(cut.join("journal.jsonl")).expect("journal");
    assert!(journal.contains("\"resumed\":true"));
    // A finished study resumed again runs nothing and writes no row.
    run_ok(hpo().args(["study", "--plain", "--resume"]).arg(&cut));
    assert_eq!(data_rows(&cut.join("predator_final.csv")), expected);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_errors_name_the_key_and_exit_2() {
    let dir = temp_dir("errors");
    let bad = |name: &str, text: &str, needle: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        let out = hpo().args(["study", "--plain", "--config"]).arg(&path).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(needle), "{name}: {needle:?} not in {err}");
    };
    let ok = std::fs::read_to_string(slow_config(&dir)).expect("config");
    bad("unknown.toml", &ok.replace("[study]\n", "[study]\nnum_sample = 3\n"), "num_sample");
    bad(
        "zero.toml",
        &ok.replace("max_concurrent = 1", "max_concurrent = 0"),
        "study.max_concurrent",
    );
    bad("nospace.toml", "[objective]\nkind = \"ppo\"\n", "[space.<name>]");
    let ppo_key = ok
        .replace("[objective]\nkind = \"command\"", "[objective]\nkind = \"ppo\"\n[x]")
        .replace("[space.num_epochs]", "[space.learning_rate]");
    bad("ppokey.toml", &ppo_key, "unknown field `x`");
    let ppo_param = ok
        .replace("kind = \"command\"", "kind = \"ppo\"")
        .replace("[space.num_epochs]", "[space.epochs]");
    bad("pposearch.toml", &ppo_param, "`epochs` is not a PPO setting");
    // A non-empty output folder is refused, and nothing in it is touched.
    let out_dir = dir.join("taken");
    std::fs::create_dir_all(&out_dir).expect("dir");
    std::fs::write(out_dir.join("keep.txt"), "mine").expect("file");
    let out = hpo()
        .args(["study", "--plain", "--config"])
        .arg(dir.join("study.toml"))
        .arg("--out")
        .arg(&out_dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--resume"));
    assert_eq!(std::fs::read_to_string(out_dir.join("keep.txt")).expect("kept"), "mine");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_smoke_preset_runs_ppo_end_to_end() {
    let dir = temp_dir("smoke");
    let out_dir = dir.join("smoke");
    let stdout =
        run_ok(hpo().args(["study", "--plain", "--preset", "smoke", "--out"]).arg(&out_dir));
    assert!(stdout.contains("4 trials finished"), "{stdout}");
    let final_csv = std::fs::read_to_string(out_dir.join("predator_final.csv")).expect("final");
    let mut lines = final_csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "trial_name,iteration,progress_ratio,score_pred,lr,num_epochs,stop_reason,rung_index,rung_pruned_at,asha_pruned"
        )
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 4, "one final row per trial");
    let reasons = ["plateau", "drop", "max_iters", "asha_early_stop", "completed"];
    for row in &rows {
        let cols: Vec<&str> = row.split(',').collect();
        assert!(reasons.contains(&cols[6]), "reason of {row}");
        let score: f64 = cols[3].parse().expect("score");
        assert!(score.is_finite(), "{row}");
        let epochs: i64 = cols[5].parse().expect("num_epochs");
        assert!((22..=30).contains(&epochs) && epochs % 2 == 0, "{row}");
    }
    let hits = std::fs::read_to_string(out_dir.join("predator_100_hits.csv")).expect("hits");
    assert!(hits.starts_with("trial_name,iteration,score_pred,lr,num_epochs"));
    // Every iteration's metrics are in each trial's progress.csv, score_pred among them.
    let progress =
        std::fs::read_to_string(out_dir.join("trials/trial_0000/progress.csv")).expect("progress");
    let header = progress.lines().next().unwrap_or_default();
    for col in ["iteration", "score_pred", "predator_return", "learn_seconds"] {
        assert!(header.split(',').any(|c| c == col), "{col} not in {header}");
    }

    // The same folder goes on to `hpo report` (its page and plots) and `hpo eval` (a trial's
    // latest checkpoint, played under the study's own [env]).
    let report = run_ok(hpo().arg("report").arg(&out_dir));
    assert!(report.contains("best trial:"), "{report}");
    for f in ["curves.png", "params.png", "timeline.png", "index.html"] {
        let p = out_dir.join("report").join(f);
        assert!(std::fs::metadata(&p).is_ok_and(|m| m.len() > 0), "{}", p.display());
    }
    // The trial that ran longest has passed `checkpoint_every` (4) iterations.
    let longest = rows
        .iter()
        .map(|r| r.split(',').collect::<Vec<_>>())
        .max_by_key(|c| c[1].parse::<u64>().unwrap_or(0))
        .map(|c| c[0].to_string())
        .unwrap_or_default();
    let trial_dir = out_dir.join("trials").join(longest);
    let eval = run_ok(hpo().arg("eval").arg(&trial_dir).args(["--episodes", "1", "--json"]));
    let v: serde_json::Value = serde_json::from_str(eval.trim()).expect("eval prints JSON");
    assert_eq!(v["episodes"], 1, "{v}");
    assert!(v["score_pred"].as_f64().is_some_and(f64::is_finite), "{v}");
    assert!(v["checkpoint"].as_str().is_some_and(|c| c.contains("checkpoint_")), "{v}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctrl_c_ends_running_trials_as_interrupted_and_resume_finishes_them() {
    let dir = temp_dir("interrupt");
    let config = slow_config(&dir);
    let whole = dir.join("whole");
    run_ok(hpo().args(["study", "--plain", "--config"]).arg(&config).arg("--out").arg(&whole));
    let expected = data_rows(&whole.join("predator_final.csv"));

    let cut = dir.join("cut");
    let child = spawn_until_rows(&config, &cut, 1, Stdio::piped());
    std::thread::sleep(Duration::from_millis(100));
    // Ctrl-C in a terminal signals the whole foreground process group: the study and its
    // trial workers alike.
    let group = format!("-{}", child.id());
    let sent = Command::new("kill").args(["-INT", "--", &group]).status().expect("kill");
    assert!(sent.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1), "an interrupted study exits 1");
    assert!(String::from_utf8_lossy(&out.stdout).contains("--resume"), "it says how to resume");
    let rows = data_rows(&cut.join("predator_final.csv"));
    assert!(rows.last().is_some_and(|r| r.contains(",interrupted,")), "{rows:?}");
    let journal = std::fs::read_to_string(cut.join("journal.jsonl")).expect("journal");
    assert!(journal.contains("\"interrupted\":true"));

    run_ok(hpo().args(["study", "--plain", "--resume"]).arg(&cut));
    // The interrupted row gave way to the trial's real end; everything else is as if never stopped.
    assert_eq!(data_rows(&cut.join("predator_final.csv")), expected);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A CSV without its timing columns (names with `seconds`, `time` or `ts`), as lines.
fn untimed(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| {
            let h = header[i];
            !(h.contains("seconds") || h.contains("time") || h == "ts")
        })
        .collect();
    std::iter::once(header.join(","))
        .chain(lines.map(|line| {
            let cols: Vec<&str> = line.split(',').collect();
            keep.iter().map(|&i| cols.get(i).copied().unwrap_or("")).collect::<Vec<_>>().join(",")
        }))
        .collect()
}

#[test]
fn ppo_trials_in_worker_processes_report_what_they_report_in_process() {
    let dir = temp_dir("workers");
    let run = |name: &str, extra: &[&str]| -> PathBuf {
        let out = dir.join(name);
        let mut cmd = hpo();
        cmd.args(["study", "--plain", "--preset", "smoke", "--num-samples", "2"])
            .args(["--max-concurrent", "1", "--out"])
            .arg(&out)
            .args(extra);
        run_ok(&mut cmd);
        out
    };
    let workers = run("workers", &[]);
    let threads = run("threads", &["--in-process"]);
    // Each trial ran in a worker process (its log is in the trial's folder) or did not.
    assert!(workers.join("trials/trial_0000/worker.log").exists());
    assert!(!threads.join("trials/trial_0000/worker.log").exists());
    let finals = |out: &Path| data_rows(&out.join("predator_final.csv"));
    assert_eq!(finals(&workers).len(), 2);
    assert_eq!(finals(&workers), finals(&threads));
    for trial in ["trial_0000", "trial_0001"] {
        let progress = |out: &Path| untimed(&out.join("trials").join(trial).join("progress.csv"));
        let (a, b) = (progress(&workers), progress(&threads));
        assert!(a.len() > 2, "{trial}: {a:?}");
        assert!(a[0].contains("score_pred") && a[0].contains("policy_loss"), "{}", a[0]);
        assert_eq!(a, b, "{trial}: every metric of every iteration");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn list_presets_names_every_preset_in_one_aligned_column() {
    let out = run_ok(hpo().args(["study", "--list-presets"]));
    insta::assert_snapshot!(out);
}
