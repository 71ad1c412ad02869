//! [`Trainer`]: one PPO run. Owns the policies, the env-runner threads and the episode
//! statistics; trains one iteration per call.

use std::path::Path;
use std::thread::JoinHandle;
use std::time::Instant;

use burn::module::Module;
use burn::optim::Optimizer;
use burn::record::{
    BinBytesRecorder, BinFileRecorder, BurnRecord, FullPrecisionSettings, Record, Recorder,
    RecorderError,
};

use crate::conv::{ConvBackend, PpoBackend};
use crossbeam_channel::{Receiver, Sender};
use marl_env::AgentKind;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::PpoConfig;
use crate::env::{EnvRecord, EnvSpec, LEGACY_STUDY_ENV};
use crate::error::PpoError;
use crate::evaluate::{Evaluation, evaluate};
use crate::learner::{PolicyLearner, explained_variance, run_epochs};
use crate::metrics::{EpisodeStats, IterationMetrics, PolicyMetrics, StoredStats};
use crate::model::{ActorCritic, Head, NetSpec};
use crate::rollout::{Fragment, KindBatch, Runner, RunnerState};
use crate::seeds::{Stream, derive_seed};

/// The backend the study uses: burn-ndarray (f32, single-threaded build) with autodiff.
pub type DefaultBackend = burn::backend::Autodiff<burn_ndarray::NdArray<f32>>;

/// burn-flex with autodiff (feature `flex`): a second backend, measured by the `backends`
/// benchmark (`docs/burn.md`).
#[cfg(feature = "flex")]
pub type FlexBackend = burn::backend::Autodiff<burn_flex::Flex>;

const STATE_FILE: &str = "trainer_state.json";
const CONFIG_FILE: &str = "ppo_config.toml";
/// Format 2 records the environment as its typed configuration ([`EnvRecord`]); format 1
/// (still read) recorded a name.
const FORMAT: u32 = 2;

enum Command<BI: ConvBackend> {
    Sample { iteration: u64, actors: Vec<Head<BI>>, fragment_length: usize, n_fragments: usize },
    Snapshot,
    Restore(Box<RunnerState>),
    Stop,
}

enum Reply {
    Fragment(Result<Fragment, PpoError>),
    Snapshot(Box<RunnerState>),
    Restored(Result<(), PpoError>),
}

struct RunnerHandle<BI: ConvBackend> {
    index: usize,
    tx: Sender<Command<BI>>,
    rx: Receiver<Reply>,
    join: Option<JoinHandle<()>>,
}

impl<BI: ConvBackend> RunnerHandle<BI> {
    fn spawn(mut runner: Runner, index: usize, core: Option<usize>) -> Result<Self, PpoError> {
        let (tx, cmd_rx) = crossbeam_channel::bounded::<Command<BI>>(1);
        let (rep_tx, rx) = crossbeam_channel::bounded::<Reply>(1);
        let join = std::thread::Builder::new()
            .name(format!("ppo-runner-{index}"))
            .spawn(move || {
                if let Some(c) = core {
                    pin(c);
                }
                while let Ok(cmd) = cmd_rx.recv() {
                    let reply = match cmd {
                        Command::Sample { iteration, actors, fragment_length, n_fragments } => {
                            Reply::Fragment(runner.sample(
                                iteration,
                                &actors,
                                fragment_length,
                                n_fragments,
                            ))
                        }
                        Command::Snapshot => Reply::Snapshot(Box::new(runner.snapshot())),
                        Command::Restore(state) => Reply::Restored(runner.restore(&state)),
                        Command::Stop => break,
                    };
                    if rep_tx.send(reply).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| PpoError::Runner {
                runner: index,
                reason: format!("cannot start thread: {e}"),
            })?;
        Ok(RunnerHandle { index, tx, rx, join: Some(join) })
    }

    fn send(&self, cmd: Command<BI>) -> Result<(), PpoError> {
        self.tx.send(cmd).map_err(|_| self.died())
    }

    fn recv(&self) -> Result<Reply, PpoError> {
        self.rx.recv().map_err(|_| self.died())
    }

    fn died(&self) -> PpoError {
        PpoError::Runner {
            runner: self.index,
            reason: "the runner thread stopped (it panicked or was shut down)".to_string(),
        }
    }
}

enum Sampler<BI: ConvBackend> {
    /// `num_env_runners = 0`: sample on the caller's thread.
    Local(Box<Runner>),
    Threads(Vec<RunnerHandle<BI>>),
}

impl<BI: ConvBackend> Sampler<BI> {
    fn sample(
        &mut self,
        iteration: u64,
        actors: Vec<Head<BI>>,
        fragment_length: usize,
        n_fragments: usize,
    ) -> Result<Vec<Fragment>, PpoError> {
        match self {
            Sampler::Local(r) => {
                Ok(vec![r.sample(iteration, &actors, fragment_length, n_fragments)?])
            }
            Sampler::Threads(handles) => {
                for h in handles.iter() {
                    h.send(Command::Sample {
                        iteration,
                        actors: actors.clone(),
                        fragment_length,
                        n_fragments,
                    })?;
                }
                // Fixed order: runner 0 first, whatever finishes first.
                let mut frags = Vec::with_capacity(handles.len());
                let mut first_err = None;
                for h in handles.iter() {
                    match h.recv()? {
                        Reply::Fragment(Ok(f)) => frags.push(f),
                        Reply::Fragment(Err(e)) => {
                            first_err.get_or_insert(e);
                        }
                        _ => return Err(h.died()),
                    }
                }
                match first_err {
                    Some(e) => Err(e),
                    None => Ok(frags),
                }
            }
        }
    }

    fn snapshots(&self) -> Result<Vec<RunnerState>, PpoError> {
        match self {
            Sampler::Local(r) => Ok(vec![r.snapshot()]),
            Sampler::Threads(handles) => {
                let mut out = Vec::with_capacity(handles.len());
                for h in handles {
                    h.send(Command::Snapshot)?;
                    match h.recv()? {
                        Reply::Snapshot(s) => out.push(*s),
                        _ => return Err(h.died()),
                    }
                }
                Ok(out)
            }
        }
    }

    fn restore(&mut self, states: &[RunnerState], dir: &Path) -> Result<(), PpoError> {
        let n = match self {
            Sampler::Local(_) => 1,
            Sampler::Threads(h) => h.len(),
        };
        if states.len() != n {
            return Err(PpoError::checkpoint(
                dir,
                format!("it holds {} env runners, the config makes {n}", states.len()),
            ));
        }
        match self {
            Sampler::Local(r) => r.restore(&states[0]),
            Sampler::Threads(handles) => {
                for (h, s) in handles.iter().zip(states) {
                    h.send(Command::Restore(Box::new(s.clone())))?;
                    match h.recv()? {
                        Reply::Restored(r) => r?,
                        _ => return Err(h.died()),
                    }
                }
                Ok(())
            }
        }
    }

    fn stop(&mut self) {
        if let Sampler::Threads(handles) = self {
            for h in handles.iter() {
                let _ = h.tx.send(Command::Stop);
            }
            for h in handles.iter_mut() {
                if let Some(j) = h.join.take() {
                    let _ = j.join();
                }
            }
        }
    }
}

fn pin(core: usize) -> bool {
    core_affinity::set_for_current(core_affinity::CoreId { id: core })
}

/// The learner's rayon pool: `threads` threads (0 = one per core in `cores`, or every available
/// core), thread `i` pinned to `cores[i % len]` when `cores` is given.
fn learner_pool(threads: usize, cores: Option<&[usize]>) -> Result<rayon::ThreadPool, PpoError> {
    let threads = match (threads, cores) {
        (0, Some(c)) => c.len(),
        (0, None) => std::thread::available_parallelism().map_or(1, |n| n.get()),
        (n, _) => n,
    };
    let cores = cores.map(<[usize]>::to_vec);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("ppo-learner-{i}"))
        .start_handler(move |i| {
            if let Some(c) = &cores {
                pin(c[i % c.len()]);
            }
        })
        .build()
        .map_err(|e| {
            PpoError::config("learner_threads", format!("cannot start {threads} threads: {e}"))
        })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TrainerState {
    format: u32,
    /// Format 2: an [`EnvRecord`]; format 1: the environment's name (a string). Read as JSON
    /// first so that a damaged record gets its own error message.
    env: serde_json::Value,
    kinds: Vec<String>,
    seed: u64,
    iteration: u64,
    env_steps_total: u64,
    agent_steps_total: u64,
    kl_coeffs: Vec<f64>,
    stats: StoredStats,
    runners: Vec<RunnerState>,
}

/// One PPO run: policies (one per agent kind), env runners and episode statistics.
///
/// `B` is the autodiff backend of the learner; runners use its inner backend. Use
/// `Trainer::<DefaultBackend>` (or `let t: Trainer = ...`) for burn-ndarray.
pub struct Trainer<B: PpoBackend = DefaultBackend> {
    config: PpoConfig,
    env: EnvSpec,
    seed: u64,
    learner_core: Option<usize>,
    /// The learner's threads (pinned to the trainer's cores when it has some).
    pool: rayon::ThreadPool,
    kinds: Vec<AgentKind>,
    policies: Vec<PolicyLearner<B>>,
    sampler: Sampler<B::InnerBackend>,
    stats: EpisodeStats,
    iteration: u64,
    env_steps_total: u64,
    agent_steps_total: u64,
}

impl<B: PpoBackend> std::fmt::Debug for Trainer<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("env", &self.env)
            .field("seed", &self.seed)
            .field("iteration", &self.iteration)
            .field("policies", &self.policies)
            .finish()
    }
}

impl<B: PpoBackend> Trainer<B> {
    /// Build the policies (weights from `seed`), the environments and the runner threads.
    ///
    /// `cores`: if given, the calling (learner) thread is pinned to `cores[0]`, runner `r` to
    /// `cores[r % cores.len()]` and thread `i` of the learner's pool to `cores[i % cores.len()]`.
    /// burn-ndarray, built without `multi-threads`, computes on the calling thread, and the
    /// conv layers spread only over the learner's pool, so this confines the whole trial.
    /// Learning happens inside the pool (sampling and learning alternate, so the runners'
    /// cores are free for it).
    pub fn new(
        config: PpoConfig,
        env: EnvSpec,
        seed: u64,
        cores: Option<Vec<usize>>,
    ) -> Result<Self, PpoError> {
        config.validate()?;
        Self::build(config, env, seed, cores)
    }

    /// [`Trainer::new`] for a configuration that has been checked.
    fn build(
        config: PpoConfig,
        env: EnvSpec,
        seed: u64,
        cores: Option<Vec<usize>>,
    ) -> Result<Self, PpoError> {
        if let Some(c) = &cores {
            check_cores(c)?;
        }
        let learner_core = cores.as_ref().map(|c| c[0]);
        if let Some(c) = learner_core {
            pin(c);
        }
        let pool = learner_pool(config.learner_threads, cores.as_deref())?;
        let n_runners = config.num_env_runners.max(1);
        let per = config.envs_per_runner;
        let mut runner_envs = Vec::with_capacity(n_runners);
        for r in 0..n_runners {
            let mut envs = Vec::with_capacity(per);
            for e in 0..per {
                envs.push(env.make(r * per + e)?);
            }
            runner_envs.push(envs);
        }
        let kinds: Vec<AgentKind> = runner_envs[0][0].kinds().to_vec();
        if kinds.is_empty() {
            return Err(PpoError::config("env", "the environment has no agent kinds"));
        }
        let device = B::Device::default();
        let mut policies = Vec::with_capacity(kinds.len());
        let mut specs = Vec::with_capacity(kinds.len());
        for (k, kind) in kinds.iter().enumerate() {
            let spec = NetSpec::new(&config, kind);
            let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, Stream::Init, k as u64, 0));
            let model = ActorCritic::<B>::init(&spec, config.init, &mut rng, &device);
            policies.push(PolicyLearner::new(kind.name.clone(), spec.clone(), model, &config));
            specs.push(spec);
        }
        let mut runners = Vec::with_capacity(n_runners);
        for (r, envs) in runner_envs.into_iter().enumerate() {
            runners.push(Runner::new(r, r * per, seed, envs, specs.clone())?);
        }
        let sampler = if config.num_env_runners == 0 {
            let runner =
                runners.pop().ok_or_else(|| PpoError::config("num_env_runners", "no runner"))?;
            Sampler::Local(Box::new(runner))
        } else {
            let mut handles = Vec::with_capacity(n_runners);
            for (r, runner) in runners.into_iter().enumerate() {
                let core = cores.as_ref().map(|c| c[r % c.len()]);
                handles.push(RunnerHandle::spawn(runner, r, core)?);
            }
            Sampler::Threads(handles)
        };
        let names: Vec<String> = kinds.iter().map(|k| k.name.clone()).collect();
        Ok(Trainer {
            stats: EpisodeStats::new(config.metrics_window, n_runners, &names),
            config,
            env,
            seed,
            learner_core,
            pool,
            kinds,
            policies,
            sampler,
            iteration: 0,
            env_steps_total: 0,
            agent_steps_total: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PpoConfig {
        &self.config
    }

    /// Iterations trained so far.
    pub fn iteration(&self) -> u64 {
        self.iteration
    }

    /// The agent kinds (one policy each, same order).
    pub fn kinds(&self) -> &[AgentKind] {
        &self.kinds
    }

    /// Network shapes of the policies.
    pub fn specs(&self) -> Vec<NetSpec> {
        self.policies.iter().map(|p| p.spec.clone()).collect()
    }

    /// Play `episodes` episodes of `env` with the current policies, without learning (actions
    /// sampled as in training; one environment copy on the calling thread; seeded by `seed`).
    /// `env` may differ from the training environment in its settings (a longer episode, more
    /// possible agents) but must have the same agent kinds, observation shapes and actions.
    pub fn evaluate(
        &self,
        env: &EnvSpec,
        episodes: usize,
        seed: u64,
    ) -> Result<Evaluation, PpoError> {
        self.evaluate_with_progress(env, episodes, seed, &mut |_| {})
    }

    /// [`Trainer::evaluate`], calling `progress` with the number of finished episodes each time
    /// one ends (for a progress bar: a long episode of a conv policy takes seconds).
    pub fn evaluate_with_progress(
        &self,
        env: &EnvSpec,
        episodes: usize,
        seed: u64,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Evaluation, PpoError> {
        let actors =
            self.policies.iter().map(|p| p.inference_actor()).collect::<Result<Vec<_>, _>>()?;
        let specs = self.specs();
        evaluate::<B::InnerBackend>(&actors, &specs, &self.kinds, env, episodes, seed, progress)
    }

    /// Sample one batch, learn from it, report.
    pub fn train_iteration(&mut self) -> Result<IterationMetrics, PpoError> {
        if let Some(c) = self.learner_core {
            pin(c);
        }
        let iteration = self.iteration + 1;
        let t0 = Instant::now();
        let actors =
            self.policies.iter().map(|p| p.inference_actor()).collect::<Result<Vec<_>, _>>()?;
        let frags = self.sampler.sample(
            iteration,
            actors,
            self.config.fragment_length(),
            self.config.fragments_per_runner(),
        )?;
        let sample_seconds = t0.elapsed().as_secs_f64();

        let t1 = Instant::now();
        let n_kinds = self.kinds.len();
        let mut merged = vec![KindBatch::default(); n_kinds];
        let mut env_steps = 0;
        let mut agent_steps = vec![0u64; n_kinds];
        let mut episodes = 0;
        for (r, f) in frags.iter().enumerate() {
            for k in 0..n_kinds {
                merged[k].extend(&f.kinds[k], self.kinds[k].obs_len());
                agent_steps[k] += f.agent_steps[k];
            }
            env_steps += f.env_steps;
            episodes += self.stats.record(r, f);
        }
        let mut rng =
            ChaCha8Rng::seed_from_u64(derive_seed(self.seed, Stream::Shuffle, 0, iteration));
        let (policies, config) = (&mut self.policies, &self.config);
        let (batches, sums) = self.pool.install(|| {
            let batches = policies
                .iter()
                .zip(&merged)
                .map(|(p, kb)| p.build_batch(kb, config))
                .collect::<Result<Vec<_>, _>>()?;
            let sums = run_epochs(policies, &batches, config, iteration, &mut rng)?;
            Ok::<_, PpoError>((batches, sums))
        })?;
        let learn_seconds = t1.elapsed().as_secs_f64();

        let mut policies = std::collections::BTreeMap::new();
        for (k, p) in self.policies.iter().enumerate() {
            let s = &sums[k];
            policies.insert(
                p.name.clone(),
                PolicyMetrics {
                    episode_return_mean: self.stats.kind_return_mean(k),
                    live_agents_mean: if env_steps == 0 {
                        0.0
                    } else {
                        agent_steps[k] as f64 / env_steps as f64
                    },
                    agent_steps: agent_steps[k],
                    batch_size: batches[k].n as u64,
                    minibatch_steps: s.steps,
                    policy_loss: s.mean(s.policy_loss),
                    vf_loss: s.mean(s.vf_loss),
                    vf_loss_unclipped: s.mean(s.vf_loss_unclipped),
                    vf_explained_var: explained_variance(
                        &batches[k].value_targets,
                        &batches[k].values,
                    ),
                    entropy: s.mean(s.entropy),
                    kl: s.mean(s.kl),
                    kl_coeff: p.kl_coeff,
                    grad_norm: s.mean(s.grad_norm),
                },
            );
        }
        let agent_steps_sum: u64 = agent_steps.iter().sum();
        let predator_return = self.stats.predator_return();
        let metrics = IterationMetrics {
            training_iteration: iteration,
            score_pred: predator_return / 100.0,
            predator_return,
            episode_return_mean: self.stats.episode_return_mean(),
            episode_len_mean: self.stats.episode_len_mean(),
            episodes,
            episodes_total: self.stats.episodes_total,
            env_steps,
            env_steps_total: self.env_steps_total + env_steps,
            agent_steps: agent_steps_sum,
            agent_steps_total: self.agent_steps_total + agent_steps_sum,
            sample_seconds,
            learn_seconds,
            policies,
        };
        if let Some((what, _)) = metrics.to_map().iter().find(|(_, v)| !v.is_finite()) {
            return Err(PpoError::NonFinite { what: format!("metric {what}"), iteration });
        }
        self.iteration = iteration;
        self.env_steps_total += env_steps;
        self.agent_steps_total += agent_steps_sum;
        Ok(metrics)
    }

    /// Write a checkpoint into `dir` (created if missing): config, counters, KL coefficients,
    /// episode windows, runner states, and per policy the weights and the Adam state.
    ///
    /// A failed write is a [`PpoError::Checkpoint`] naming the file and the system's reason
    /// (e.g. "No space left on device"); `dir` may then hold some of the files.
    pub fn save(&self, dir: &Path) -> Result<(), PpoError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| PpoError::checkpoint(dir, format!("cannot create the folder: {e}")))?;
        let config = toml::to_string(&self.config).map_err(|e| PpoError::checkpoint(dir, e))?;
        write(&dir.join(CONFIG_FILE), config.as_bytes())?;
        let env = serde_json::to_value(self.env.record()).map_err(|e| {
            PpoError::checkpoint(dir, format!("cannot record the environment: {e}"))
        })?;
        let state = TrainerState {
            format: FORMAT,
            env,
            kinds: self.kinds.iter().map(|k| k.name.clone()).collect(),
            seed: self.seed,
            iteration: self.iteration,
            env_steps_total: self.env_steps_total,
            agent_steps_total: self.agent_steps_total,
            kl_coeffs: self.policies.iter().map(|p| p.kl_coeff).collect(),
            stats: StoredStats::Runners(self.stats.clone()),
            runners: self.sampler.snapshots()?,
        };
        let json = serde_json::to_vec(&state).map_err(|e| PpoError::checkpoint(dir, e))?;
        write(&dir.join(STATE_FILE), &json)?;
        for (k, p) in self.policies.iter().enumerate() {
            let path = dir.join(format!("policy_{k}.bin"));
            write(&path, &record_bytes::<B, _>(p.model()?.clone().into_record(), &path)?)?;
            let path = dir.join(format!("optim_{k}.bin"));
            write(&path, &record_bytes::<B, _>(p.optim.to_record(), &path)?)?;
        }
        Ok(())
    }

    /// Rebuild a trainer from a checkpoint written by [`save`](Self::save); the next
    /// [`train_iteration`](Self::train_iteration) gives the same numbers as the saved trainer's
    /// next iteration would have.
    ///
    /// `env` must be the environment the checkpoint was made with ([`checkpoint_env`] rebuilds
    /// a built-in one): a built-in's configuration is compared by value, and a difference is a
    /// [`PpoError::Checkpoint`] naming every differing setting; a custom one's name must match.
    /// A checkpoint of format 1 (which recorded a name) is compared by its name; one written by
    /// `hpo study` before format 2 loads into any predator-prey-grass configuration, since it
    /// did not record its settings.
    pub fn load(dir: &Path, env: EnvSpec, cores: Option<Vec<usize>>) -> Result<Self, PpoError> {
        let config_path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&config_path)
            .map_err(|e| PpoError::checkpoint(&config_path, format!("cannot read: {e}")))?;
        let config: PpoConfig =
            toml::from_str(&text).map_err(|e| PpoError::checkpoint(&config_path, e))?;
        // A checkpoint loads with the checks of its time: a setting later refused (a minibatch
        // larger than the batch) must not lock its weights away.
        config.validate_checkpointed()?;
        let (state_path, state) = read_state(dir)?;
        check_env(&state_path, &stored_env(&state_path, &state)?, &env)?;
        let mut t = Trainer::build(config, env, state.seed, cores)?;
        let names: Vec<String> = t.kinds.iter().map(|k| k.name.clone()).collect();
        if names != state.kinds || state.kl_coeffs.len() != names.len() {
            return Err(PpoError::checkpoint(
                &state_path,
                format!("agent kinds {:?} differ from the env's {names:?}", state.kinds),
            ));
        }
        let device = B::Device::default();
        for (k, p) in t.policies.iter_mut().enumerate() {
            let path = dir.join(format!("policy_{k}"));
            let record = load_record::<B, _>(&path, &device)?;
            let model = p.model.take().ok_or_else(|| PpoError::checkpoint(&path, "no model"))?;
            p.model = Some(model.load_record(record));
            let path = dir.join(format!("optim_{k}"));
            let record = load_record::<B, _>(&path, &device)?;
            let optim = std::mem::replace(
                &mut p.optim,
                burn::optim::AdamConfig::new().init::<B, ActorCritic<B>>(),
            );
            p.optim = optim.load_record(record);
            p.kl_coeff = state.kl_coeffs[k];
        }
        t.sampler.restore(&state.runners, dir)?;
        t.iteration = state.iteration;
        t.env_steps_total = state.env_steps_total;
        t.agent_steps_total = state.agent_steps_total;
        t.stats = state.stats.into_stats(t.config.metrics_window, t.config.num_env_runners);
        Ok(t)
    }
}

/// The bytes `BinFileRecorder` writes for `record` (the same metadata, so files are as
/// before), for [`write`] to put on disk with its own error handling: the recorder's writer
/// drops write errors of its last buffer and reports others as debug text.
fn record_bytes<B: PpoBackend, R: Record<B>>(record: R, path: &Path) -> Result<Vec<u8>, PpoError> {
    let item = BurnRecord::<_, B>::new::<BinFileRecorder<FullPrecisionSettings>>(
        record.into_item::<FullPrecisionSettings>(),
    );
    Recorder::<B>::save_item(&BinBytesRecorder::<FullPrecisionSettings>::default(), item, ())
        .map_err(|e| {
            let (RecorderError::FileNotFound(m)
            | RecorderError::DeserializeError(m)
            | RecorderError::Unknown(m)) = e;
            PpoError::checkpoint(path, format!("cannot encode the record: {m}"))
        })
}

/// A burn recorder error as a sentence (its `Display` is its `Debug`, and the decoder's text
/// inside is a debug dump too, so only burn's own sentences about the record are kept).
fn recorder_reason(e: &RecorderError) -> String {
    let (RecorderError::FileNotFound(m)
    | RecorderError::DeserializeError(m)
    | RecorderError::Unknown(m)) = e;
    // Burn's text: "Unable to load record.\nMetadata has a different ...\nError: <debug dump>"
    let said: Vec<&str> = m
        .lines()
        .take_while(|l| !l.starts_with("Error:"))
        .filter(|l| l.starts_with("Metadata "))
        .collect();
    let mut reason =
        "cannot decode the record: the file is damaged or was written by another version"
            .to_string();
    for line in said {
        reason.push_str("; ");
        reason.push_str(line.trim_end_matches('.'));
    }
    reason
}

/// Load record `path` (without extension: the recorder adds `.bin`), with plain errors.
fn load_record<B: PpoBackend, R: Record<B>>(
    path: &Path,
    device: &B::Device,
) -> Result<R, PpoError> {
    let file = path.with_extension("bin");
    // The recorder's own read errors are debug text: open the file first for a plain one.
    std::fs::File::open(&file)
        .map_err(|e| PpoError::checkpoint(&file, format!("cannot read: {e}")))?;
    let recorder = BinFileRecorder::<FullPrecisionSettings>::new();
    Recorder::<B>::load(&recorder, path.to_path_buf(), device)
        .map_err(|e| PpoError::checkpoint(&file, recorder_reason(&e)))
}

/// The checkpoint's `trainer_state.json`: its path and contents, any supported format.
fn read_state(dir: &Path) -> Result<(std::path::PathBuf, TrainerState), PpoError> {
    let state_path = dir.join(STATE_FILE);
    let bytes = std::fs::read(&state_path)
        .map_err(|e| PpoError::checkpoint(&state_path, format!("cannot read: {e}")))?;
    let state: TrainerState =
        serde_json::from_slice(&bytes).map_err(|e| PpoError::checkpoint(&state_path, e))?;
    if state.format != FORMAT && state.format != 1 {
        return Err(PpoError::checkpoint(
            &state_path,
            format!(
                "format {} is not a supported one (1 or {FORMAT}): it was written by another \
                 version of ppo-burn",
                state.format
            ),
        ));
    }
    Ok((state_path, state))
}

/// The environment a checkpoint records.
// One per load: the size of `PpgConfig` inline does not matter.
#[allow(clippy::large_enum_variant)]
enum StoredEnv {
    /// Format 2, or a format-1 name of a built-in environment.
    Record(EnvRecord),
    /// A format-1 name that is not a built-in's (a custom environment).
    Name(String),
}

fn stored_env(state_path: &Path, state: &TrainerState) -> Result<StoredEnv, PpoError> {
    if state.format == 1 {
        let serde_json::Value::String(name) = &state.env else {
            return Err(PpoError::checkpoint(
                state_path,
                "format 1 with an `env` that is not a name",
            ));
        };
        return Ok(match EnvSpec::from_name(name) {
            Some(spec) => StoredEnv::Record(spec.record()),
            None => StoredEnv::Name(name.clone()),
        });
    }
    serde_json::from_value(state.env.clone())
        .map(StoredEnv::Record)
        .map_err(|e| PpoError::checkpoint(state_path, format!("its `env` record: {e}")))
}

/// Refuse to load a checkpoint into another environment than its own.
fn check_env(state_path: &Path, stored: &StoredEnv, env: &EnvSpec) -> Result<(), PpoError> {
    let given = env.record();
    let reason = match stored {
        StoredEnv::Record(saved) => saved.mismatch(&given),
        // `hpo study` before format 2: a custom env of this name, settings not recorded.
        StoredEnv::Name(name)
            if name == LEGACY_STUDY_ENV && matches!(env, EnvSpec::PredPreyGrass(_)) =>
        {
            None
        }
        StoredEnv::Name(name) if *name == env.name() => None,
        StoredEnv::Name(name) => {
            Some(format!("made with env `{name}`, asked to load into `{}`", given.label()))
        }
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(PpoError::checkpoint(state_path, reason)),
    }
}

/// The environment a checkpoint was made with, rebuilt from the typed configuration it records,
/// for [`Trainer::load`] (built-in environments only: a custom one's factory is not stored).
pub fn checkpoint_env(dir: &Path) -> Result<EnvSpec, PpoError> {
    let (state_path, state) = read_state(dir)?;
    match stored_env(&state_path, &state)? {
        StoredEnv::Record(record) => record.spec().ok_or_else(|| {
            PpoError::checkpoint(
                &state_path,
                format!(
                    "made with the custom environment `{}`: load it with its EnvSpec",
                    record.label()
                ),
            )
        }),
        StoredEnv::Name(name) if name == LEGACY_STUDY_ENV => Err(PpoError::checkpoint(
            &state_path,
            "written by `hpo study` before checkpoints recorded the environment's settings: \
             load it with `EnvSpec::PredPreyGrass` of the study's `[env]` settings (`hpo eval \
             --env FILE`, FILE holding the keys of the study's `[env]` table)",
        )),
        StoredEnv::Name(name) => Err(PpoError::checkpoint(
            &state_path,
            format!("made with the custom environment `{name}`: load it with its EnvSpec"),
        )),
    }
}

impl<B: PpoBackend> Drop for Trainer<B> {
    fn drop(&mut self) {
        self.sampler.stop();
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), PpoError> {
    std::fs::write(path, bytes)
        .map_err(|e| PpoError::checkpoint(path, format!("cannot write: {e}")))
}

fn check_cores(cores: &[usize]) -> Result<(), PpoError> {
    if cores.is_empty() {
        return Err(PpoError::config("cores", "an empty core list: pass None to not pin"));
    }
    let available: Vec<usize> =
        core_affinity::get_core_ids().unwrap_or_default().iter().map(|c| c.id).collect();
    if let Some(bad) = cores.iter().find(|c| !available.contains(c)) {
        return Err(PpoError::config(
            "cores",
            format!("core {bad} is not among the available cores {available:?}"),
        ));
    }
    Ok(())
}
