//! The PPO objective: each trial trains ppo-burn's multi-agent PPO on marl-env's
//! predator-prey-grass environment and reports every iteration's metrics, `score_pred` among them
//! (the reference's PredatorScore callback: `predator_return / 100`).
//!
//! A trial's parameters are PPO settings by name (`lr`, `num_epochs`, or any other key of
//! `[ppo]`), written over the study's `[ppo]` table; a name that is not a PPO setting is an error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use marl_env::{PpgConfig, PredPreyGrass};
use ppo_burn::{EnvSpec, PpoConfig, Trainer};

use crate::objective::{Metrics, Objective, ObjectiveError, TrialContext, TrialRun};
use hpo_sampler::ParamValue;

/// The folder of a trial's checkpoint of `iteration` (inside the trial's folder). The last two
/// are kept, so the one the journal names is there even after a crash in the middle of a save.
pub fn checkpoint_dir(trial_dir: &Path, iteration: u64) -> PathBuf {
    trial_dir.join(format!("checkpoint_{iteration:06}"))
}

/// The checkpoint folders of a trial, oldest first (zero-padded names sort by iteration).
pub fn checkpoint_dirs(trial_dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(trial_dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("checkpoint_")))
        .collect();
    dirs.sort();
    Ok(dirs)
}

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

    /// The environment of every trial.
    pub fn env_spec(&self) -> EnvSpec {
        let env = self.env.clone();
        EnvSpec::Custom {
            name: "predator_prey_grass".to_string(),
            factory: Arc::new(move |_| {
                let e: Box<dyn marl_env::MultiAgentEnv> =
                    Box::new(PredPreyGrass::new(env.clone())?);
                Ok(e)
            }),
        }
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
fn save_atomically(trainer: &Trainer, dir: &Path) -> Result<(), ObjectiveError> {
    let iteration = trainer.iteration();
    let tmp = dir.join("checkpoint.tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    trainer
        .save(&tmp)
        .map_err(|e| ObjectiveError::Iteration { iteration, message: e.to_string() })?;
    let dest = checkpoint_dir(dir, iteration);
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::rename(&tmp, &dest)?;
    let saved = checkpoint_dirs(dir)?;
    let n = saved.len();
    for old in saved.into_iter().take(n.saturating_sub(2)) {
        let _ = std::fs::remove_dir_all(old);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

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
