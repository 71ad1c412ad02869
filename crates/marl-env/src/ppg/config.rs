//! Settings of the predator-prey-grass environment, with the reference's keys and the
//! "train_v1_0" values as defaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::EnvError;

/// A reward that is either one number for every agent type, or one number per type prefix, as
/// the reference writes it (`{ type_1_predator = 10.0, type_2_predator = 0.0 }`).
///
/// With a table, an agent takes the value of the first key (in sorted key order) that its id
/// starts with; [`PpgConfig::validate`] rejects a table with no key for a type-1 agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TypedValue {
    /// The same value for every type.
    Same(f64),
    /// One value per id prefix (`type_1_prey`, `type_2_prey`, ...).
    PerType(BTreeMap<String, f64>),
}

impl TypedValue {
    /// The value for an agent id prefix such as `type_1_predator`, if any key matches.
    pub fn for_prefix(&self, kind_name: &str) -> Option<f64> {
        match self {
            TypedValue::Same(v) => Some(*v),
            TypedValue::PerType(map) => map
                .iter()
                .find(|(k, _)| format!("{kind_name}_").starts_with(k.as_str()))
                .map(|(_, v)| *v),
        }
    }

    fn check(&self, field: &str, kind_name: &str) -> Result<f64, EnvError> {
        let v = self.for_prefix(kind_name).ok_or_else(|| {
            config_err(
                field,
                format!("no entry for `{kind_name}`: add `{kind_name} = 0.0` or give one number"),
            )
        })?;
        if !v.is_finite() {
            return Err(config_err(
                field,
                format!("the value for `{kind_name}` is {v}, it must be finite"),
            ));
        }
        Ok(v)
    }
}

impl From<f64> for TypedValue {
    fn from(v: f64) -> Self {
        TypedValue::Same(v)
    }
}

/// Every setting of the reference environment (PredPreyGrass v3_1), named by the reference's
/// keys, plus this port's options (`proper_termination`).
///
/// `Default` is the reference's "train_v1_0" settings with `max_steps = 500`. A TOML file with
/// any subset of the keys is read with `toml::from_str` (unknown keys are an error); call
/// [`PpgConfig::validate`] (or [`crate::PredPreyGrass::new`], which does) before use.
///
/// Caps (`max_energy_*`, `max_energy_gain_*`) are `None` for "no cap" (the reference's `inf`):
/// omit the key rather than writing `inf`, so that the config survives a JSON round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PpgConfig {
    /// Regular steps per episode; the call after the last one only truncates.
    pub max_steps: u32,
    /// The grid is `grid_size x grid_size` cells.
    pub grid_size: usize,
    /// Observation channels; only 4 (outside, predators, prey, grass) is supported.
    pub num_obs_channels: usize,
    /// Side of the predators' square observation window (odd).
    pub predator_obs_range: usize,
    /// Side of the prey's square observation window (odd).
    pub prey_obs_range: usize,
    /// Side of the square of moves of type-1 agents (odd): `3` gives Discrete(9).
    pub type_1_action_range: usize,
    /// Side of the square of moves of type-2 agents (type-2 agents are not supported: unused).
    pub type_2_action_range: usize,

    /// Reward of a predator that eats a prey.
    pub reward_predator_catch_prey: TypedValue,
    /// Reward of a prey that eats grass.
    pub reward_prey_eat_grass: TypedValue,
    /// Reward of a predator that neither eats nor reproduces.
    pub reward_predator_step: TypedValue,
    /// Reward of a prey that neither eats nor reproduces.
    pub reward_prey_step: TypedValue,
    /// Reward of a prey when eaten (seen only with `proper_termination`).
    pub penalty_prey_caught: TypedValue,
    /// Reward of a predator that reproduces (replaces the step's other reward).
    pub reproduction_reward_predator: TypedValue,
    /// Reward of a prey that reproduces (replaces the step's other reward).
    pub reproduction_reward_prey: TypedValue,

    /// Energy a predator loses every step it acts.
    pub energy_loss_per_step_predator: f64,
    /// Energy a prey loses every step it acts.
    pub energy_loss_per_step_prey: f64,
    /// A predator reproduces when its energy is at least this.
    pub predator_creation_energy_threshold: f64,
    /// A prey reproduces when its energy is at least this.
    pub prey_creation_energy_threshold: f64,
    /// Move cost = euclidean distance x this factor x current energy.
    pub move_energy_cost_factor: f64,
    /// Energy of a new predator (paid by its parent).
    pub initial_energy_predator: f64,
    /// Energy of a new prey (paid by its parent).
    pub initial_energy_prey: f64,

    /// Possible type-1 predators (ids `type_1_predator_0..`).
    pub n_possible_type_1_predators: usize,
    /// Possible type-2 predators: must be 0 (not supported).
    pub n_possible_type_2_predators: usize,
    /// Possible type-1 prey (ids `type_1_prey_0..`).
    pub n_possible_type_1_prey: usize,
    /// Possible type-2 prey: must be 0 (not supported).
    pub n_possible_type_2_prey: usize,
    /// Type-1 predators at reset.
    pub n_initial_active_type_1_predator: usize,
    /// Type-2 predators at reset: must be 0 (not supported).
    pub n_initial_active_type_2_predator: usize,
    /// Type-1 prey at reset.
    pub n_initial_active_type_1_prey: usize,
    /// Type-2 prey at reset: must be 0 (not supported).
    pub n_initial_active_type_2_prey: usize,

    /// Chance that a reproducing agent's child switches type. As in the reference, this rate is
    /// used for prey as well as predators; since type-2 agents have no ids here, a mutated child
    /// is never born (the parent still gets its reproduction reward, as with no free id).
    pub mutation_rate_predator: f64,
    /// Accepted and validated, but unused, exactly as in the reference (which draws the prey's
    /// mutation against `mutation_rate_predator`).
    pub mutation_rate_prey: f64,

    /// Grass patches placed at reset (they never move).
    pub initial_num_grass: usize,
    /// Energy of a grass patch at reset.
    pub initial_energy_grass: f64,
    /// Energy a grass patch regrows every step.
    pub energy_gain_per_step_grass: f64,

    /// At most this much energy from one grass patch (`None`: no cap).
    pub max_energy_gain_per_grass: Option<f64>,
    /// At most this much energy from one prey (`None`: no cap).
    pub max_energy_gain_per_prey: Option<f64>,
    /// A predator's energy is capped at this after eating (`None`: no cap).
    pub max_energy_predator: Option<f64>,
    /// A prey's energy is capped at this after eating (`None`: no cap).
    pub max_energy_prey: Option<f64>,
    /// Grass regrowth is capped at this (`None`: no cap).
    pub max_energy_grass: Option<f64>,
    /// Steps an agent waits after a reproduction before the next one.
    pub reproduction_cooldown_steps: u32,
    /// Chance that a predator with enough energy reproduces.
    pub reproduction_chance_predator: f64,
    /// Chance that a prey with enough energy reproduces.
    pub reproduction_chance_prey: f64,
    /// Fraction of the eaten energy that the eater gains.
    pub energy_transfer_efficiency: f64,
    /// Fraction of the initial energy that a child gets (the parent pays the full initial energy).
    pub reproduction_energy_efficiency: f64,

    /// Reference logging switch; accepted for compatibility and ignored (this crate never prints).
    pub debug_mode: bool,
    /// Reference logging switch; ignored.
    pub verbose_engagement: bool,
    /// Reference logging switch; ignored.
    pub verbose_movement: bool,
    /// Reference logging switch; ignored.
    pub verbose_decay: bool,
    /// Reference logging switch; ignored.
    pub verbose_reproduction: bool,

    /// This port's option (default `false`, the reference): when `true`, an agent that dies
    /// appears once in the output with `terminated = true` (and the eaten prey with
    /// `penalty_prey_caught`), and a slot freed by a death is not reused within the same step.
    pub proper_termination: bool,
}

impl Default for PpgConfig {
    fn default() -> Self {
        PpgConfig {
            max_steps: 500,
            grid_size: 25,
            num_obs_channels: 4,
            predator_obs_range: 7,
            prey_obs_range: 9,
            type_1_action_range: 3,
            type_2_action_range: 0,
            reward_predator_catch_prey: 0.0.into(),
            reward_prey_eat_grass: 0.0.into(),
            reward_predator_step: 0.0.into(),
            reward_prey_step: 0.0.into(),
            penalty_prey_caught: 0.0.into(),
            reproduction_reward_predator: 10.0.into(),
            reproduction_reward_prey: 10.0.into(),
            energy_loss_per_step_predator: 0.15,
            energy_loss_per_step_prey: 0.05,
            predator_creation_energy_threshold: 12.0,
            prey_creation_energy_threshold: 8.0,
            move_energy_cost_factor: 0.0,
            initial_energy_predator: 5.0,
            initial_energy_prey: 3.0,
            n_possible_type_1_predators: 50,
            n_possible_type_2_predators: 0,
            n_possible_type_1_prey: 50,
            n_possible_type_2_prey: 0,
            n_initial_active_type_1_predator: 6,
            n_initial_active_type_2_predator: 0,
            n_initial_active_type_1_prey: 8,
            n_initial_active_type_2_prey: 0,
            mutation_rate_predator: 0.0,
            mutation_rate_prey: 0.0,
            initial_num_grass: 100,
            initial_energy_grass: 2.0,
            energy_gain_per_step_grass: 0.04,
            max_energy_gain_per_grass: None,
            max_energy_gain_per_prey: None,
            max_energy_predator: None,
            max_energy_prey: None,
            max_energy_grass: Some(2.0),
            reproduction_cooldown_steps: 0,
            reproduction_chance_predator: 1.0,
            reproduction_chance_prey: 1.0,
            energy_transfer_efficiency: 1.0,
            reproduction_energy_efficiency: 1.0,
            debug_mode: false,
            verbose_engagement: false,
            verbose_movement: false,
            verbose_decay: false,
            verbose_reproduction: false,
            proper_termination: false,
        }
    }
}

/// Largest grid side accepted (positions are kept in 16 bits).
pub const MAX_GRID_SIZE: usize = 4096;
/// Largest observation window or move square side accepted.
pub const MAX_RANGE: usize = 99;
/// Largest number of slots of one kind accepted.
pub const MAX_SLOTS: usize = 10_000;

pub(crate) fn config_err(field: &str, reason: impl Into<String>) -> EnvError {
    EnvError::Config { field: field.to_string(), reason: reason.into() }
}

/// Per-kind numbers resolved from the config once, at construction.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KindParams {
    pub loss: f64,
    pub threshold: f64,
    pub initial: f64,
    pub chance: f64,
    pub max_energy: f64,
    pub max_gain: f64,
    pub reward_eat: f32,
    pub reward_step: f32,
    pub reward_repro: f32,
    pub penalty_caught: f32,
    pub obs_range: usize,
    pub n_slots: usize,
    pub n_initial: usize,
}

impl PpgConfig {
    /// Check every setting; the error names the field, the value and what would be valid.
    pub fn validate(&self) -> Result<(), EnvError> {
        self.resolve().map(|_| ())
    }

    /// Validate and resolve the per-kind parameters `[predator, prey]`.
    pub(crate) fn resolve(&self) -> Result<[KindParams; 2], EnvError> {
        if self.max_steps == 0 {
            return Err(config_err("max_steps", "is 0, it must be at least 1"));
        }
        if self.grid_size == 0 || self.grid_size > MAX_GRID_SIZE {
            return Err(config_err(
                "grid_size",
                format!("is {}, it must be between 1 and {MAX_GRID_SIZE}", self.grid_size),
            ));
        }
        if self.num_obs_channels != 4 {
            return Err(config_err(
                "num_obs_channels",
                format!(
                    "is {}, only 4 (outside, predators, prey, grass) is supported",
                    self.num_obs_channels
                ),
            ));
        }
        for (field, v) in [
            ("predator_obs_range", self.predator_obs_range),
            ("prey_obs_range", self.prey_obs_range),
            ("type_1_action_range", self.type_1_action_range),
        ] {
            if v % 2 == 0 || v > MAX_RANGE {
                return Err(config_err(
                    field,
                    format!(
                        "is {v}, it must be an odd number up to {MAX_RANGE} (the square is centred on the agent)"
                    ),
                ));
            }
        }
        for (field, v) in [
            ("n_possible_type_2_predators", self.n_possible_type_2_predators),
            ("n_possible_type_2_prey", self.n_possible_type_2_prey),
            ("n_initial_active_type_2_predator", self.n_initial_active_type_2_predator),
            ("n_initial_active_type_2_prey", self.n_initial_active_type_2_prey),
        ] {
            if v != 0 {
                return Err(config_err(
                    field,
                    format!(
                        "is {v}, but type-2 agents are not supported by this port: set it to 0"
                    ),
                ));
            }
        }
        for (field, possible, initial, initial_field) in [
            (
                "n_possible_type_1_predators",
                self.n_possible_type_1_predators,
                self.n_initial_active_type_1_predator,
                "n_initial_active_type_1_predator",
            ),
            (
                "n_possible_type_1_prey",
                self.n_possible_type_1_prey,
                self.n_initial_active_type_1_prey,
                "n_initial_active_type_1_prey",
            ),
        ] {
            if possible == 0 || possible > MAX_SLOTS {
                return Err(config_err(
                    field,
                    format!("is {possible}, it must be between 1 and {MAX_SLOTS}"),
                ));
            }
            if initial == 0 {
                return Err(config_err(
                    initial_field,
                    "is 0, it must be at least 1 (an episode starting with an extinct kind is over at once)",
                ));
            }
            if initial > possible {
                return Err(config_err(
                    initial_field,
                    format!(
                        "is {initial}, more than the {possible} possible ids of `{field}`: lower it or raise `{field}`"
                    ),
                ));
            }
        }
        let cells = self.grid_size * self.grid_size;
        let entities = self.n_initial_active_type_1_predator
            + self.n_initial_active_type_1_prey
            + self.initial_num_grass;
        if entities > cells {
            return Err(config_err(
                "grid_size",
                format!(
                    "{0}x{0} = {cells} cells cannot hold the {entities} initial predators, prey and grass patches, which all start on distinct cells: enlarge the grid or lower the counts",
                    self.grid_size
                ),
            ));
        }
        for (field, v) in [
            ("energy_loss_per_step_predator", self.energy_loss_per_step_predator),
            ("energy_loss_per_step_prey", self.energy_loss_per_step_prey),
            ("predator_creation_energy_threshold", self.predator_creation_energy_threshold),
            ("prey_creation_energy_threshold", self.prey_creation_energy_threshold),
            ("move_energy_cost_factor", self.move_energy_cost_factor),
            ("initial_energy_grass", self.initial_energy_grass),
            ("energy_gain_per_step_grass", self.energy_gain_per_step_grass),
            ("energy_transfer_efficiency", self.energy_transfer_efficiency),
            ("reproduction_energy_efficiency", self.reproduction_energy_efficiency),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(config_err(field, format!("is {v}, it must be a finite number >= 0")));
            }
        }
        for (field, v) in [
            ("initial_energy_predator", self.initial_energy_predator),
            ("initial_energy_prey", self.initial_energy_prey),
        ] {
            if !v.is_finite() || v <= 0.0 {
                return Err(config_err(
                    field,
                    format!(
                        "is {v}, it must be a finite number > 0 (an agent with no energy is invisible on the grid)"
                    ),
                ));
            }
        }
        for (field, v) in [
            ("mutation_rate_predator", self.mutation_rate_predator),
            ("mutation_rate_prey", self.mutation_rate_prey),
            ("reproduction_chance_predator", self.reproduction_chance_predator),
            ("reproduction_chance_prey", self.reproduction_chance_prey),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(config_err(
                    field,
                    format!("is {v}, it must be a probability in [0, 1]"),
                ));
            }
        }
        for (field, v) in [
            ("max_energy_gain_per_grass", self.max_energy_gain_per_grass),
            ("max_energy_gain_per_prey", self.max_energy_gain_per_prey),
            ("max_energy_predator", self.max_energy_predator),
            ("max_energy_prey", self.max_energy_prey),
            ("max_energy_grass", self.max_energy_grass),
        ] {
            if let Some(v) = v
                && (!v.is_finite() || v < 0.0)
            {
                return Err(config_err(
                    field,
                    format!("is {v}, it must be a finite number >= 0, or left out for no cap"),
                ));
            }
        }
        let pred = "type_1_predator";
        let prey = "type_1_prey";
        let cap = |v: Option<f64>| v.unwrap_or(f64::INFINITY);
        Ok([
            KindParams {
                loss: self.energy_loss_per_step_predator,
                threshold: self.predator_creation_energy_threshold,
                initial: self.initial_energy_predator,
                chance: self.reproduction_chance_predator,
                max_energy: cap(self.max_energy_predator),
                max_gain: cap(self.max_energy_gain_per_prey),
                reward_eat: self
                    .reward_predator_catch_prey
                    .check("reward_predator_catch_prey", pred)? as f32,
                reward_step: self.reward_predator_step.check("reward_predator_step", pred)? as f32,
                reward_repro: self
                    .reproduction_reward_predator
                    .check("reproduction_reward_predator", pred)?
                    as f32,
                penalty_caught: 0.0,
                obs_range: self.predator_obs_range,
                n_slots: self.n_possible_type_1_predators,
                n_initial: self.n_initial_active_type_1_predator,
            },
            KindParams {
                loss: self.energy_loss_per_step_prey,
                threshold: self.prey_creation_energy_threshold,
                initial: self.initial_energy_prey,
                chance: self.reproduction_chance_prey,
                max_energy: cap(self.max_energy_prey),
                max_gain: cap(self.max_energy_gain_per_grass),
                reward_eat: self.reward_prey_eat_grass.check("reward_prey_eat_grass", prey)? as f32,
                reward_step: self.reward_prey_step.check("reward_prey_step", prey)? as f32,
                reward_repro: self
                    .reproduction_reward_prey
                    .check("reproduction_reward_prey", prey)? as f32,
                penalty_caught: self.penalty_prey_caught.check("penalty_prey_caught", prey)? as f32,
                obs_range: self.prey_obs_range,
                n_slots: self.n_possible_type_1_prey,
                n_initial: self.n_initial_active_type_1_prey,
            },
        ])
    }
}
