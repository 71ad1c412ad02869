//! The names inside a study folder.

use std::path::{Path, PathBuf};

use hpo_core::TrialId;

/// The journal (JSON lines), the study's source of truth.
pub const JOURNAL: &str = "journal.jsonl";
/// The copy of the study's configuration.
pub const CONFIG: &str = "config.toml";
/// One row per trial, when it ends.
pub const FINAL: &str = "predator_final.csv";
/// One row per trial, the first time its score reaches the hit threshold.
pub const HITS: &str = "predator_100_hits.csv";
/// Per-trial folders live here.
pub const TRIALS: &str = "trials";
/// Every metric of every iteration, in each trial's folder.
pub const PROGRESS: &str = "progress.csv";
/// Held (locked) by the process running the study; it names that process's PID.
pub const LOCK: &str = "study.lock";

/// A trial's name: trial 3 is `trial_0003`.
pub fn trial_name(trial: TrialId) -> String {
    format!("trial_{trial:04}")
}

/// The folder of the trial named `name` in the study folder `dir`.
pub fn trial_dir(dir: &Path, name: &str) -> PathBuf {
    dir.join(TRIALS).join(name)
}

/// The `progress.csv` of the trial named `name` in the study folder `dir`.
pub fn progress_csv(dir: &Path, name: &str) -> PathBuf {
    trial_dir(dir, name).join(PROGRESS)
}

/// The folder of a trial's checkpoint of `iteration`, inside the trial's folder
/// (`checkpoint_000040`). The runner keeps the last two, so the one the journal names is there
/// even after a crash in the middle of a save.
pub fn checkpoint_dir(trial_dir: &Path, iteration: u64) -> PathBuf {
    trial_dir.join(format!("{CHECKPOINT_PREFIX}{iteration:06}"))
}

/// What every checkpoint folder's name starts with.
pub const CHECKPOINT_PREFIX: &str = "checkpoint_";

/// The checkpoint folders of a trial, oldest first (zero-padded names sort by iteration).
pub fn checkpoint_dirs(trial_dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(trial_dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(CHECKPOINT_PREFIX))
        })
        .collect();
    dirs.sort();
    Ok(dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_names_and_paths() {
        assert_eq!(trial_name(3), "trial_0003");
        assert_eq!(trial_name(12345), "trial_12345");
        assert_eq!(
            progress_csv(Path::new("runs/q"), "trial_0001"),
            Path::new("runs/q/trials/trial_0001/progress.csv")
        );
        assert_eq!(checkpoint_dir(Path::new("t"), 40), Path::new("t/checkpoint_000040"));
    }
}
