//! The stepping API shared by every environment of this crate.
//!
//! Agents are grouped by *kind* (one policy per kind in the reference: predators and prey). A kind
//! has a fixed number of *slots*; slot `i` of kind `k` is the agent id `"{kind.name}_{i}"`, so ids
//! are stable for the episode (and, as in the reference, reused after a death).
//!
//! The caller owns every buffer: [`MultiAgentEnv::new_output`] allocates a [`StepOutput`] and
//! [`Actions`] once, and `reset`/`step` write into them, so stepping allocates nothing.

/// Static description of one kind of agent.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentKind {
    /// Name, also the prefix of agent ids (`type_1_predator`).
    pub name: String,
    /// Observation shape, channels first: `[channels, height, width]`.
    pub obs_shape: [usize; 3],
    /// Size of the discrete action space.
    pub n_actions: usize,
    /// Number of slots (possible agents) of this kind.
    pub max_agents: usize,
}

impl AgentKind {
    /// Number of `f32` values of one observation.
    pub fn obs_len(&self) -> usize {
        self.obs_shape.iter().product()
    }

    /// The agent id of a slot, as the reference names it: `"{name}_{slot}"`.
    pub fn agent_id(&self, slot: usize) -> String {
        format!("{}_{}", self.name, slot)
    }
}

/// What one kind's agents got from the last `reset` or `step`, indexed by slot.
#[derive(Debug, Clone, PartialEq)]
pub struct KindOutput {
    /// `max_agents * obs_len` values; slot `i` owns `obs[i * obs_len..(i + 1) * obs_len]`.
    /// Meaningful only where `present[i]`.
    pub obs: Vec<f32>,
    /// Reward of this step per slot (0 where not present).
    pub reward: Vec<f32>,
    /// The slot is in this step's output (it has an observation and a reward).
    pub present: Vec<bool>,
    /// The agent of this slot acts next step (present and neither terminated nor truncated).
    pub acting: Vec<bool>,
    /// The agent's episode ended by termination this step.
    pub terminated: Vec<bool>,
    /// The agent's episode was cut this step (time limit): bootstrap from its value.
    pub truncated: Vec<bool>,
}

impl KindOutput {
    /// Buffers for one kind, all slots absent.
    pub fn new(kind: &AgentKind) -> Self {
        let n = kind.max_agents;
        KindOutput {
            obs: vec![0.0; n * kind.obs_len()],
            reward: vec![0.0; n],
            present: vec![false; n],
            acting: vec![false; n],
            terminated: vec![false; n],
            truncated: vec![false; n],
        }
    }

    /// Mark every slot absent and zero rewards (observations are left as they are).
    pub fn clear(&mut self) {
        self.reward.fill(0.0);
        self.present.fill(false);
        self.acting.fill(false);
        self.terminated.fill(false);
        self.truncated.fill(false);
    }

    /// Number of slots present in this output.
    pub fn n_present(&self) -> usize {
        self.present.iter().filter(|p| **p).count()
    }
}

/// Output of `reset`/`step` for all kinds.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutput {
    /// One entry per kind, in the order of [`MultiAgentEnv::kinds`].
    pub kinds: Vec<KindOutput>,
    /// The episode is over for every agent: call `reset` before stepping again.
    pub done: bool,
}

/// Actions for the next step, per kind and slot. Only slots with `acting` set in the last output
/// are read; others are ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct Actions {
    /// `per_kind[k][slot]` is the action index of that agent.
    pub per_kind: Vec<Vec<u32>>,
}

/// Errors of stepping or configuring an environment.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EnvError {
    /// `step` was called after the episode ended, or before the first `reset`.
    #[error("step called on a finished or never reset episode: call reset first")]
    NotRunning,
    /// An action index outside `0..n_actions`.
    #[error("action {action} of agent {agent} is out of range 0..{n_actions}")]
    BadAction {
        /// The agent id.
        agent: String,
        /// The action given.
        action: u32,
        /// The size of the action space.
        n_actions: usize,
    },
    /// `Actions` or `StepOutput` do not have the shape of this environment's kinds.
    #[error("buffer shape mismatch: {0}")]
    Shape(String),
    /// A configuration value is invalid; names the field and what would be valid.
    #[error("invalid config `{field}`: {reason}")]
    Config {
        /// The configuration key.
        field: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

/// A multi-agent environment with discrete actions and per-kind observation buffers.
pub trait MultiAgentEnv: Send {
    /// The kinds of agents, in a fixed order.
    fn kinds(&self) -> &[AgentKind];

    /// Start a new episode; the same seed gives the same episode.
    fn reset(&mut self, seed: u64, out: &mut StepOutput);

    /// Advance one step with the actions of the agents that were `acting`.
    fn step(&mut self, actions: &Actions, out: &mut StepOutput) -> Result<(), EnvError>;

    /// Allocate output buffers for this environment.
    fn new_output(&self) -> StepOutput {
        StepOutput { kinds: self.kinds().iter().map(KindOutput::new).collect(), done: false }
    }

    /// Allocate action buffers for this environment (all zeros).
    fn new_actions(&self) -> Actions {
        Actions { per_kind: self.kinds().iter().map(|k| vec![0; k.max_agents]).collect() }
    }
}

/// Check that `actions` has one entry per kind and one action per slot.
pub fn check_actions(kinds: &[AgentKind], actions: &Actions) -> Result<(), EnvError> {
    if actions.per_kind.len() != kinds.len() {
        return Err(EnvError::Shape(format!(
            "{} action vectors for {} kinds",
            actions.per_kind.len(),
            kinds.len()
        )));
    }
    for (kind, acts) in kinds.iter().zip(&actions.per_kind) {
        if acts.len() != kind.max_agents {
            return Err(EnvError::Shape(format!(
                "kind {} has {} slots but {} actions were given",
                kind.name,
                kind.max_agents,
                acts.len()
            )));
        }
    }
    Ok(())
}
