//! The PPO objective: each trial trains ppo-burn's multi-agent PPO on marl-env's
//! predator-prey-grass environment and reports every iteration's metrics, `score_pred` among them
//! (the reference's PredatorScore callback: `predator_return / 100`).
//!
//! A trial's parameters are PPO settings by name (`lr`, `num_epochs`, or any other key of
//! `[ppo]`), written over the study's `[ppo]` table; a name that is not a PPO setting is an error.

use std::path::{Path, PathBuf};

use marl_env::PpgConfig;
use ppo_burn::{EnvSpec, PpoConfig, Trainer};

use crate::objective::{Metrics, Objective, ObjectiveError, TrialContext, TrialRun};
use hpo_sampler::ParamValue;

pub use hpo_folder::files::{checkpoint_dir, checkpoint_dirs};

/// Trains PPO on predator-prey-grass, one iteration per step.
#[derive(Debug, Clone)]
pub struct PpoObjective {
    /// The study's `[ppo]` settings; each trial's parameters are written over them.
    pub ppo: PpoConfig,
    /// The study's `[env]` settings.
    pub env: PpgConfig,
}

impl PpoObjective {
    /// The PPO settings of a trial: the study's, with the trial's parameters written over them.
    pub fn trial_config(
        &self,
        params: &std::collections::BTreeMap<String, ParamValue>,
    ) -> Result<PpoConfig, ObjectiveError> {
        apply_params(&self.ppo, params).map_err(ObjectiveError::Start)
    }

    /// The environment of every trial: the built-in predator-prey-grass of the study's `[env]`,
    /// so that its checkpoints record these settings (`hpo eval` rebuilds the environment from
    /// them, and a resume with other `[env]` settings is refused naming the ones that differ).
    pub fn env_spec(&self) -> EnvSpec {
        EnvSpec::PredPreyGrass(self.env.clone())
    }
}

/// Write parameters over a PPO config by key, through its TOML form, so that every `[ppo]` key
/// can be searched and an unknown one is refused with its name.
pub fn apply_params(
    base: &PpoConfig,
    params: &std::collections::BTreeMap<String, ParamValue>,
) -> Result<PpoConfig, String> {
    let mut table = toml::Table::try_from(base).map_err(|e| format!("ppo config: {e}"))?;
    for (name, value) in params {
        let v = match value {
            ParamValue::Float(x) => toml::Value::Float(*x),
            ParamValue::Int(i) => toml::Value::Integer(*i),
            ParamValue::Str(s) => toml::Value::String(s.clone()),
            ParamValue::Bool(b) => toml::Value::Boolean(*b),
        };
        // An int-valued float setting (or the reverse) is converted rather than refused.
        let v = match (table.get(name), v) {
            (Some(toml::Value::Float(_)), toml::Value::Integer(i)) => toml::Value::Float(i as f64),
            (Some(toml::Value::Integer(_)), toml::Value::Float(x)) if x.fract() == 0.0 => {
                toml::Value::Integer(x as i64)
            }
            (None, _) => {
                return Err(format!(
                    "search parameter `{name}` is not a PPO setting: name a key of [ppo] \
                     (for example lr, num_epochs, minibatch_size)"
                ));
            }
            (_, v) => v,
        };
        table.insert(name.clone(), v);
    }
    let config: PpoConfig = table
        .try_into()
        .map_err(|e: toml::de::Error| format!("search parameters do not fit [ppo]: {e}"))?;
    config.validate().map_err(|e| format!("ppo config with the trial's parameters: {e}"))?;
    Ok(config)
}

impl Objective for PpoObjective {
    fn start(&self, ctx: &TrialContext) -> Result<Box<dyn TrialRun>, ObjectiveError> {
        let config = self.trial_config(&ctx.params)?;
        let cores = Some(ctx.cores.clone()).filter(|c| !c.is_empty());
        let checkpoint = checkpoint_dir(&ctx.dir, ctx.resume_after);
        let trainer: Trainer = if ctx.resume_after > 0 {
            let t = Trainer::load(&checkpoint, self.env_spec(), cores)
                .map_err(|e| ObjectiveError::Start(format!("cannot resume: {e}")))?;
            if t.iteration() != ctx.resume_after {
                return Err(ObjectiveError::Start(format!(
                    "checkpoint in {} is at iteration {}, the journal says {}",
                    checkpoint.display(),
                    t.iteration(),
                    ctx.resume_after
                )));
            }
            t
        } else {
            Trainer::new(config, self.env_spec(), ctx.seed, cores)
                .map_err(|e| ObjectiveError::Start(e.to_string()))?
        };
        Ok(Box::new(PpoRun { trainer, dir: ctx.dir.clone() }))
    }
}

struct PpoRun {
    trainer: Trainer,
    dir: PathBuf,
}

impl TrialRun for PpoRun {
    fn step(&mut self) -> Result<Option<Metrics>, ObjectiveError> {
        let iteration = self.trainer.iteration() + 1;
        match self.trainer.train_iteration() {
            Ok(m) => Ok(Some(m.to_map())),
            Err(e) => Err(ObjectiveError::Iteration { iteration, message: e.to_string() }),
        }
    }

    fn checkpoint(&mut self, iteration: u64) -> Result<Option<u64>, ObjectiveError> {
        save_atomically(&self.trainer, &self.dir)?;
        Ok(Some(iteration))
    }
}

/// Save into a fresh folder, rename it into place, then drop all but the last two checkpoints,
/// so a crash never leaves the checkpoint the journal names half-written or missing.
///
/// A failed save removes its temporary folder and leaves the earlier checkpoints as they were;
/// its error names the path and the system's reason, once. Only folders this function made are
/// removed: a file where it needs a folder is an error, not deleted.
fn save_atomically(trainer: &Trainer, dir: &Path) -> Result<(), ObjectiveError> {
    let iteration = trainer.iteration();
    let failed = |message: String| ObjectiveError::Iteration { iteration, message };
    let tmp = dir.join("checkpoint.tmp");
    // Left over by a crash in the middle of a save.
    remove_folder(&tmp).map_err(|e| {
        failed(format!("checkpoint {}: cannot remove this unfinished save: {e}", tmp.display()))
    })?;
    let dest = checkpoint_dir(dir, iteration);
    let saved = trainer.save(&tmp).map_err(|e| failed(e.to_string())).and_then(|()| {
        // A checkpoint of this iteration from before a crash and resume.
        remove_folder(&dest).and_then(|()| std::fs::rename(&tmp, &dest)).map_err(|e| {
            failed(format!(
                "checkpoint {}: cannot move {} there: {e}",
                dest.display(),
                tmp.display()
            ))
        })
    });
    if saved.is_err() {
        let _ = remove_folder(&tmp);
        return saved;
    }
    let saved = checkpoint_dirs(dir)
        .map_err(|e| failed(format!("checkpoints in {}: cannot list them: {e}", dir.display())))?;
    let n = saved.len();
    for old in saved.into_iter().take(n.saturating_sub(2)) {
        let _ = remove_folder(&old);
    }
    Ok(())
}

/// Remove `path` if it is a folder (not following a symbolic link); anything else stays.
fn remove_folder(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn tiny(max_steps: u32) -> PpoObjective {
        PpoObjective {
            ppo: PpoConfig {
                train_batch_size: 48,
                minibatch_size: 48,
                num_epochs: 1,
                num_env_runners: 0,
                mlp_hiddens: vec![8],
                ..PpoConfig::default()
            },
            env: PpgConfig {
                grid_size: 12,
                initial_num_grass: 30,
                max_steps,
                ..PpgConfig::default()
            },
        }
    }

    fn ctx(dir: &Path, resume_after: u64) -> TrialContext {
        TrialContext {
            trial: 0,
            name: "trial_0000".to_string(),
            params: BTreeMap::new(),
            seed: 3,
            cores: Vec::new(),
            dir: dir.to_path_buf(),
            resume_after,
        }
    }

    fn trial_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("hpo-ppo-objective-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("trial dir");
        dir
    }

    /// A person reads it: the path, the system's reason once, no debug dump.
    fn assert_plain(err: &str, path: &Path) {
        assert!(err.contains(&path.display().to_string()), "names {}: {err}", path.display());
        assert_eq!(err.matches("(os error").count(), 1, "the OS error once: {err}");
        for debug in ["Os {", "kind:", "Io {", "i/o error"] {
            assert!(!err.contains(debug), "`{debug}` in: {err}");
        }
    }

    #[test]
    fn checkpoints_record_the_env_settings_and_a_changed_env_is_refused_on_resume() {
        let dir = trial_dir("env");
        let objective = tiny(40);
        let mut run = objective.start(&ctx(&dir, 0)).expect("start");
        run.step().expect("one iteration");
        assert_eq!(run.checkpoint(1).expect("saved"), Some(1));
        drop(run);
        match ppo_burn::checkpoint_env(&checkpoint_dir(&dir, 1)) {
            Ok(EnvSpec::PredPreyGrass(c)) => assert_eq!(c, objective.env),
            other => panic!("expected the study's predator-prey-grass settings, got {other:?}"),
        }
        // Same settings: resumes.
        objective.start(&ctx(&dir, 1)).expect("resume with the same [env]");
        // `[env]` changed between runs: refused, naming the setting.
        let err = match tiny(50).start(&ctx(&dir, 1)) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("a resume with another [env] must be refused"),
        };
        assert!(err.contains("`max_steps` is 40 in the checkpoint, 50 here"), "{err}");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn a_failed_save_says_where_and_why_once_and_keeps_the_previous_checkpoint() {
        let dir = trial_dir("save");
        let objective = tiny(40);
        let mut run = objective.start(&ctx(&dir, 0)).expect("start");
        run.step().expect("iteration 1");
        run.checkpoint(1).expect("saved");
        run.step().expect("iteration 2");
        let previous = checkpoint_dir(&dir, 1);
        let tmp = dir.join("checkpoint.tmp");
        let still_loads = || {
            let t: Trainer = Trainer::load(&previous, objective.env_spec(), None).expect("loads");
            assert_eq!(t.iteration(), 1);
        };

        // The temporary folder cannot be made: a file is in the way.
        std::fs::write(&tmp, "in the way").expect("file");
        let err = run.checkpoint(2).expect_err("cannot save").to_string();
        assert_plain(&err, &tmp);
        assert!(err.contains("File exists"), "{err}");
        assert!(tmp.is_file(), "a file it did not make is not deleted");
        assert!(!checkpoint_dir(&dir, 2).exists());
        still_loads();
        std::fs::remove_file(&tmp).expect("clear");

        // Written, but it cannot be moved into place: its temporary folder is removed.
        let dest = checkpoint_dir(&dir, 2);
        std::fs::write(&dest, "in the way").expect("file");
        let err = run.checkpoint(2).expect_err("cannot move").to_string();
        assert_plain(&err, &dest);
        assert!(err.contains("Not a directory"), "{err}");
        assert!(!tmp.exists(), "the temporary folder is removed");
        still_loads();
        std::fs::remove_file(&dest).expect("clear");

        // Once the way is clear, it saves; both checkpoints are kept.
        assert_eq!(run.checkpoint(2).expect("saved"), Some(2));
        assert!(previous.is_dir() && dest.is_dir() && !tmp.exists());
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn params_write_over_ppo_settings_and_unknown_names_are_refused() {
        let base = PpoConfig::default();
        let mut p = BTreeMap::new();
        p.insert("lr".to_string(), ParamValue::Float(1.1e-4));
        p.insert("num_epochs".to_string(), ParamValue::Int(24));
        let c = apply_params(&base, &p).expect("known keys");
        assert_eq!(c.lr, 1.1e-4);
        assert_eq!(c.num_epochs, 24);
        p.insert("learning_rate".to_string(), ParamValue::Float(1.0));
        let err = apply_params(&base, &p).expect_err("unknown key");
        assert!(err.contains("`learning_rate` is not a PPO setting"), "{err}");
    }
}
