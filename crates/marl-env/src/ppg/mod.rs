//! The predator-prey-grass environment: a port of the reference PredPreyGrass (v3_1, settings
//! "train_v1_0"), rule for rule; `docs/env.md` lists the rules and the few named differences.
//!
//! Layout, chosen for speed: agents live in flat per-slot arrays (predators first, then prey,
//! as one "global index"); the grid's layers are `f32` planes padded by half the widest window,
//! so an observation is `4 x range` row copies with no bounds checks per cell; the orders the
//! reference gets by sorting id strings are precomputed ranks. A step allocates nothing.

mod config;
mod stats;
#[cfg(test)]
mod tests;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use config::{MAX_GRID_SIZE, MAX_RANGE, MAX_SLOTS, PpgConfig, TypedValue};
pub use stats::{EndReason, EpisodeStats};

use crate::api::{Actions, AgentKind, EnvError, MultiAgentEnv, StepOutput, check_actions};
use config::KindParams;

/// Index of the predators' kind in [`MultiAgentEnv::kinds`] and the output.
pub const PREDATOR: usize = 0;
/// Index of the prey's kind in [`MultiAgentEnv::kinds`] and the output.
pub const PREY: usize = 1;
/// Observation channels: outside, predator energy, prey energy, grass energy.
pub const N_CHANNELS: usize = 4;

const NO_GRASS: u32 = u32::MAX;

/// One live agent, as [`PredPreyGrass::agent`] shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgentState {
    /// First grid coordinate.
    pub x: usize,
    /// Second grid coordinate.
    pub y: usize,
    /// Current energy.
    pub energy: f64,
    /// Steps acted since birth.
    pub age: u32,
}

/// An agent of a hand-built state (tests and demonstrations).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HandAgent {
    pub slot: usize,
    pub x: usize,
    pub y: usize,
    pub energy: f64,
}

/// A hand-built state: agents (in the order they were "registered", which is also the order
/// of the first step's moves and interactions, as after a reset), grass, the step counter and
/// the seed of the generator (reproduction draws).
#[doc(hidden)]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HandState {
    pub predators: Vec<HandAgent>,
    pub prey: Vec<HandAgent>,
    /// `(x, y, energy)` of each grass patch.
    pub grass: Vec<(usize, usize, f64)>,
    pub step: u32,
    pub seed: u64,
}

/// The predator-prey-grass environment (see the crate docs and `docs/env.md`).
#[derive(Debug, Clone)]
pub struct PredPreyGrass {
    config: PpgConfig,
    params: [KindParams; 2],
    kinds: Vec<AgentKind>,
    /// Grid side.
    g: usize,
    /// Padding of the layer planes on every side.
    pad: usize,
    /// Padded side.
    w: usize,
    /// `N_CHANNELS` padded planes of `w * w`; plane 0 is 1 outside the grid.
    layers: Vec<f32>,
    /// Action index -> (dx, dy).
    moves: Vec<(i32, i32)>,
    /// First global index of each kind.
    offset: [usize; 2],
    alive: Vec<bool>,
    /// Died this step (to keep the slot out of reuse and to report it with proper termination).
    died_now: Vec<bool>,
    x: Vec<u16>,
    y: Vec<u16>,
    energy: Vec<f64>,
    age: Vec<u32>,
    /// Registration sequence (the reference's dict insertion order).
    reg: Vec<u64>,
    last_repro: Vec<i64>,
    reward: Vec<f32>,
    /// Rank of each global index in the string order of the ids.
    rank: Vec<u32>,
    /// The reference's `self.agents` at the start of a step (string-sorted after every step).
    order: Vec<u32>,
    /// The live agents of the last output in output order: the move order of the next step.
    acts: Vec<u32>,
    /// Agents that died this step.
    dead_now: Vec<u32>,
    /// Agents per cell (unpadded, `x * g + y`), per kind.
    count: [Vec<u16>; 2],
    grass_at: Vec<u32>,
    grass_x: Vec<u16>,
    grass_y: Vec<u16>,
    grass_energy: Vec<f64>,
    scratch_cells: Vec<u32>,
    live: [usize; 2],
    step_count: u32,
    running: bool,
    rng: ChaCha8Rng,
    next_reg: u64,
    stats: EpisodeStats,
}

impl PredPreyGrass {
    /// Build the environment; fails with [`EnvError::Config`] naming the first invalid field.
    pub fn new(config: PpgConfig) -> Result<Self, EnvError> {
        let params = config.resolve()?;
        let g = config.grid_size;
        let pad = params[PREDATOR].obs_range.max(params[PREY].obs_range) / 2;
        let w = g + 2 * pad;
        let plane = w * w;
        let mut layers = vec![0.0f32; N_CHANNELS * plane];
        for px in 0..w {
            for py in 0..w {
                let inside = (pad..pad + g).contains(&px) && (pad..pad + g).contains(&py);
                if !inside {
                    layers[px * w + py] = 1.0;
                }
            }
        }
        let names = ["type_1_predator", "type_1_prey"];
        let kinds: Vec<AgentKind> = (0..2)
            .map(|k| AgentKind {
                name: names[k].to_string(),
                obs_shape: [N_CHANNELS, params[k].obs_range, params[k].obs_range],
                n_actions: config.type_1_action_range * config.type_1_action_range,
                max_agents: params[k].n_slots,
            })
            .collect();
        let delta = (config.type_1_action_range / 2) as i32;
        let mut moves = Vec::new();
        for dx in -delta..=delta {
            for dy in -delta..=delta {
                moves.push((dx, dy));
            }
        }
        let offset = [0, params[PREDATOR].n_slots];
        let n = params[PREDATOR].n_slots + params[PREY].n_slots;
        // The reference sorts id strings; we rank them once.
        let mut ids: Vec<(String, usize)> = (0..n)
            .map(|a| {
                let k = usize::from(a >= offset[PREY]);
                (kinds[k].agent_id(a - offset[k]), a)
            })
            .collect();
        ids.sort();
        let mut rank = vec![0u32; n];
        for (r, (_, a)) in ids.iter().enumerate() {
            rank[*a] = r as u32;
        }
        let cells = g * g;
        let stats = EpisodeStats::new([params[PREDATOR].n_slots, params[PREY].n_slots]);
        Ok(PredPreyGrass {
            params,
            kinds,
            g,
            pad,
            w,
            layers,
            moves,
            offset,
            alive: vec![false; n],
            died_now: vec![false; n],
            x: vec![0; n],
            y: vec![0; n],
            energy: vec![0.0; n],
            age: vec![0; n],
            reg: vec![0; n],
            last_repro: vec![0; n],
            reward: vec![0.0; n],
            rank,
            order: Vec::with_capacity(n),
            acts: Vec::with_capacity(n),
            dead_now: Vec::with_capacity(n),
            count: [vec![0; cells], vec![0; cells]],
            grass_at: vec![NO_GRASS; cells],
            grass_x: Vec::with_capacity(cells),
            grass_y: Vec::with_capacity(cells),
            grass_energy: Vec::with_capacity(cells),
            scratch_cells: Vec::with_capacity(cells),
            live: [0, 0],
            step_count: 0,
            running: false,
            rng: ChaCha8Rng::seed_from_u64(0),
            next_reg: 0,
            stats,
            config,
        })
    }

    /// The configuration this environment was built with.
    pub fn config(&self) -> &PpgConfig {
        &self.config
    }

    /// Side of the square grid.
    pub fn grid_size(&self) -> usize {
        self.g
    }

    /// Regular steps taken in this episode (the reference's `current_step`).
    pub fn current_step(&self) -> u32 {
        self.step_count
    }

    /// The episode is running (reset and not over).
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Live agents of a kind ([`PREDATOR`] or [`PREY`]).
    pub fn n_alive(&self, kind: usize) -> usize {
        self.live.get(kind).copied().unwrap_or(0)
    }

    /// A live agent's position, energy and age; `None` for a free slot or a bad index.
    pub fn agent(&self, kind: usize, slot: usize) -> Option<AgentState> {
        let params = self.params.get(kind)?;
        if slot >= params.n_slots {
            return None;
        }
        let a = self.offset[kind] + slot;
        self.alive[a].then(|| AgentState {
            x: usize::from(self.x[a]),
            y: usize::from(self.y[a]),
            energy: self.energy[a],
            age: self.age[a],
        })
    }

    /// The live slots of a kind, in slot order.
    pub fn alive_slots(&self, kind: usize) -> impl Iterator<Item = usize> + '_ {
        let (start, n) = self.params.get(kind).map_or((0, 0), |p| (self.offset[kind], p.n_slots));
        (0..n).filter(move |s| self.alive[start + s])
    }

    /// Every grass patch as `(x, y, energy)`.
    pub fn grass(&self) -> impl Iterator<Item = (usize, usize, f64)> + '_ {
        (0..self.grass_energy.len()).map(|i| {
            (usize::from(self.grass_x[i]), usize::from(self.grass_y[i]), self.grass_energy[i])
        })
    }

    /// The grid layer value at `(x, y)`: layer 1 predator energy, 2 prey energy, 3 grass energy
    /// (layer 0 is the "outside" channel: 0 inside the grid). 0 outside the grid.
    pub fn layer(&self, layer: usize, x: usize, y: usize) -> f32 {
        if layer >= N_CHANNELS || x >= self.g || y >= self.g {
            return 0.0;
        }
        self.layers[self.lidx(layer, x, y)]
    }

    /// Statistics of the current (or last finished) episode.
    pub fn episode_stats(&self) -> &EpisodeStats {
        &self.stats
    }

    #[inline]
    fn lidx(&self, layer: usize, x: usize, y: usize) -> usize {
        layer * self.w * self.w + (x + self.pad) * self.w + y + self.pad
    }

    #[inline]
    fn kind_of(&self, a: usize) -> usize {
        usize::from(a >= self.offset[PREY])
    }

    #[inline]
    fn set_layer_at_agent(&mut self, a: usize, value: f32) {
        let k = self.kind_of(a);
        let i = self.lidx(k + 1, usize::from(self.x[a]), usize::from(self.y[a]));
        self.layers[i] = value;
    }

    #[inline]
    fn cell(&self, x: usize, y: usize) -> usize {
        x * self.g + y
    }

    fn clear_state(&mut self, seed: u64) {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
        let plane = self.w * self.w;
        self.layers[plane..].fill(0.0);
        self.alive.fill(false);
        self.died_now.fill(false);
        self.count[0].fill(0);
        self.count[1].fill(0);
        for i in 0..self.grass_x.len() {
            let c = self.cell(usize::from(self.grass_x[i]), usize::from(self.grass_y[i]));
            self.grass_at[c] = NO_GRASS;
        }
        self.grass_x.clear();
        self.grass_y.clear();
        self.grass_energy.clear();
        self.order.clear();
        self.acts.clear();
        self.dead_now.clear();
        self.live = [0, 0];
        self.step_count = 0;
        self.next_reg = 0;
        self.stats.clear();
        self.running = true;
    }

    /// Register an agent (reset or birth): the reference's `_register_new_agent` plus placement.
    fn register(&mut self, a: usize, x: usize, y: usize, energy: f64, layer_value: f32) {
        let k = self.kind_of(a);
        self.alive[a] = true;
        self.x[a] = x as u16;
        self.y[a] = y as u16;
        self.energy[a] = energy;
        self.age[a] = 0;
        self.reg[a] = self.next_reg;
        self.next_reg += 1;
        self.last_repro[a] = -i64::from(self.config.reproduction_cooldown_steps);
        self.reward[a] = 0.0;
        let c = self.cell(x, y);
        self.count[k][c] += 1;
        self.live[k] += 1;
        self.set_layer_at_agent(a, layer_value);
        self.order.push(a as u32);
    }

    fn add_grass(&mut self, x: usize, y: usize, energy: f64) {
        let c = self.cell(x, y);
        self.grass_at[c] = self.grass_energy.len() as u32;
        self.grass_x.push(x as u16);
        self.grass_y.push(y as u16);
        self.grass_energy.push(energy);
        let i = self.lidx(3, x, y);
        self.layers[i] = energy as f32;
    }

    fn ensure_output(&self, out: &mut StepOutput) {
        let ok = out.kinds.len() == self.kinds.len()
            && out.kinds.iter().zip(&self.kinds).all(|(o, k)| {
                o.obs.len() == k.max_agents * k.obs_len()
                    && o.reward.len() == k.max_agents
                    && o.present.len() == k.max_agents
                    && o.acting.len() == k.max_agents
                    && o.terminated.len() == k.max_agents
                    && o.truncated.len() == k.max_agents
            });
        if !ok {
            *out = self.new_output();
        }
    }

    fn check_output(&self, out: &StepOutput) -> Result<(), EnvError> {
        if out.kinds.len() != self.kinds.len() {
            return Err(EnvError::Shape(format!(
                "{} output kinds for {} kinds",
                out.kinds.len(),
                self.kinds.len()
            )));
        }
        for (o, k) in out.kinds.iter().zip(&self.kinds) {
            let n = k.max_agents;
            if o.obs.len() != n * k.obs_len()
                || o.reward.len() != n
                || o.present.len() != n
                || o.acting.len() != n
                || o.terminated.len() != n
                || o.truncated.len() != n
            {
                return Err(EnvError::Shape(format!(
                    "output buffers of kind {} do not fit {} slots of {} values: use new_output",
                    k.name,
                    n,
                    k.obs_len()
                )));
            }
        }
        Ok(())
    }

    /// Reset: distinct uniformly random cells for all entities at once, predators first, then
    /// prey, then grass.
    fn reset_state(&mut self, seed: u64) {
        self.clear_state(seed);
        let cells = self.g * self.g;
        let n_pred = self.params[PREDATOR].n_initial;
        let n_prey = self.params[PREY].n_initial;
        let n_grass = self.config.initial_num_grass;
        let total = n_pred + n_prey + n_grass;
        self.scratch_cells.clear();
        self.scratch_cells.extend(0..cells as u32);
        for i in 0..total {
            let j = self.rng.random_range(i..cells);
            self.scratch_cells.swap(i, j);
        }
        for i in 0..total {
            let c = self.scratch_cells[i] as usize;
            let (x, y) = (c / self.g, c % self.g);
            if i < n_pred {
                let e = self.params[PREDATOR].initial;
                self.register(self.offset[PREDATOR] + i, x, y, e, e as f32);
            } else if i < n_pred + n_prey {
                let e = self.params[PREY].initial;
                self.register(self.offset[PREY] + i - n_pred, x, y, e, e as f32);
            } else {
                self.add_grass(x, y, self.config.initial_energy_grass);
            }
        }
        self.acts.extend_from_slice(&self.order);
    }

    /// Replace the state by a hand-built one (tests): agents are registered in the listed
    /// order, predators first, and act in that order on the first step.
    #[doc(hidden)]
    pub fn set_hand_state(
        &mut self,
        state: &HandState,
        out: &mut StepOutput,
    ) -> Result<(), EnvError> {
        let g = self.g;
        for (k, list, field) in
            [(PREDATOR, &state.predators, "predators"), (PREY, &state.prey, "prey")]
        {
            let mut seen = vec![false; self.params[k].n_slots];
            for h in list {
                if h.slot >= self.params[k].n_slots || seen[h.slot] {
                    return Err(config::config_err(
                        field,
                        format!("slot {} is out of range or listed twice", h.slot),
                    ));
                }
                seen[h.slot] = true;
                if h.x >= g || h.y >= g || !h.energy.is_finite() {
                    return Err(config::config_err(
                        field,
                        format!(
                            "agent at ({}, {}) with energy {} is off the grid or not finite",
                            h.x, h.y, h.energy
                        ),
                    ));
                }
            }
        }
        let mut grass_seen = vec![false; g * g];
        for &(x, y, e) in &state.grass {
            if x >= g || y >= g || grass_seen[x * g + y] || !e.is_finite() {
                return Err(config::config_err(
                    "grass",
                    format!("patch at ({x}, {y}) is off the grid, doubled or not finite"),
                ));
            }
            grass_seen[x * g + y] = true;
        }
        self.clear_state(state.seed);
        self.step_count = state.step;
        for (k, list) in [(PREDATOR, &state.predators), (PREY, &state.prey)] {
            for h in list {
                self.register(self.offset[k] + h.slot, h.x, h.y, h.energy, h.energy as f32);
            }
        }
        for &(x, y, e) in &state.grass {
            self.add_grass(x, y, e);
        }
        self.acts.extend_from_slice(&self.order);
        self.ensure_output(out);
        self.write_reset_output(out);
        Ok(())
    }

    fn write_reset_output(&mut self, out: &mut StepOutput) {
        for k in &mut out.kinds {
            k.clear();
        }
        out.done = self.live[PREDATOR] == 0 || self.live[PREY] == 0;
        if out.done {
            self.running = false;
        }
        for i in 0..self.order.len() {
            let a = self.order[i] as usize;
            let k = self.kind_of(a);
            let s = a - self.offset[k];
            let ko = &mut out.kinds[k];
            ko.present[s] = true;
            ko.acting[s] = !out.done;
            ko.terminated[s] = out.done;
            let len = self.kinds[k].obs_len();
            self.write_obs(a, &mut ko.obs[s * len..(s + 1) * len]);
        }
    }

    /// Copy an agent's window from the padded planes (row copies of a size known at compile
    /// time for the usual windows, which the compiler turns into a few vector moves).
    #[inline]
    fn write_obs(&self, a: usize, dst: &mut [f32]) {
        let k = self.kind_of(a);
        match self.params[k].obs_range {
            3 => self.write_obs_fixed::<3>(a, dst),
            5 => self.write_obs_fixed::<5>(a, dst),
            7 => self.write_obs_fixed::<7>(a, dst),
            9 => self.write_obs_fixed::<9>(a, dst),
            11 => self.write_obs_fixed::<11>(a, dst),
            r => self.write_obs_any(a, r, dst),
        }
    }

    #[inline]
    fn window_origin(&self, a: usize, r: usize) -> usize {
        let h = r / 2;
        let x0 = usize::from(self.x[a]) + self.pad - h;
        let y0 = usize::from(self.y[a]) + self.pad - h;
        x0 * self.w + y0
    }

    fn write_obs_fixed<const R: usize>(&self, a: usize, dst: &mut [f32]) {
        let origin = self.window_origin(a, R);
        let plane = self.w * self.w;
        for (c, dst_c) in dst.chunks_exact_mut(R * R).take(N_CHANNELS).enumerate() {
            let base = c * plane + origin;
            let (rows, _) = dst_c.as_chunks_mut::<R>();
            for (i, row) in rows.iter_mut().enumerate() {
                // the padding keeps every window row inside the planes
                if let Some(src) = self.layers[base + i * self.w..].first_chunk::<R>() {
                    *row = *src;
                }
            }
        }
    }

    fn write_obs_any(&self, a: usize, r: usize, dst: &mut [f32]) {
        let origin = self.window_origin(a, r);
        let plane = self.w * self.w;
        for (c, dst_c) in dst.chunks_exact_mut(r * r).take(N_CHANNELS).enumerate() {
            let base = c * plane + origin;
            for (i, row) in dst_c.chunks_exact_mut(r).enumerate() {
                let s = base + i * self.w;
                row.copy_from_slice(&self.layers[s..s + r]);
            }
        }
    }

    /// Step 0: the call after `max_steps` regular steps truncates every live agent.
    fn truncate(&mut self, out: &mut StepOutput) {
        for k in &mut out.kinds {
            k.clear();
        }
        for i in 0..self.order.len() {
            let a = self.order[i] as usize;
            let k = self.kind_of(a);
            let s = a - self.offset[k];
            let ko = &mut out.kinds[k];
            ko.present[s] = true;
            ko.truncated[s] = true;
            let len = self.kinds[k].obs_len();
            self.write_obs(a, &mut ko.obs[s * len..(s + 1) * len]);
        }
        out.done = true;
        self.running = false;
        self.stats.end_reason = Some(EndReason::Truncated);
    }

    fn kill(&mut self, a: usize) {
        let k = self.kind_of(a);
        self.set_layer_at_agent(a, 0.0);
        self.alive[a] = false;
        self.died_now[a] = true;
        self.dead_now.push(a as u32);
        let c = self.cell(usize::from(self.x[a]), usize::from(self.y[a]));
        self.count[k][c] -= 1;
        self.live[k] -= 1;
    }

    /// Step 4 for one agent.
    #[inline]
    fn move_agent(&mut self, a: usize, action: usize) {
        let k = self.kind_of(a);
        let (dx, dy) = self.moves[action];
        let (x, y) = (i32::from(self.x[a]), i32::from(self.y[a]));
        let last = self.g as i32 - 1;
        let tx = (x + dx).clamp(0, last);
        let ty = (y + dy).clamp(0, last);
        let (nx, ny) = if self.layers[self.lidx(k + 1, tx as usize, ty as usize)] > 0.0 {
            (x, y)
        } else {
            (tx, ty)
        };
        let factor = self.config.move_energy_cost_factor;
        if factor != 0.0 {
            let d = f64::from((nx - x) * (nx - x) + (ny - y) * (ny - y)).sqrt();
            self.energy[a] -= d * factor * self.energy[a];
        }
        let old = self.lidx(k + 1, x as usize, y as usize);
        self.layers[old] = 0.0;
        let new = self.lidx(k + 1, nx as usize, ny as usize);
        self.layers[new] = self.energy[a] as f32;
        if (nx, ny) != (x, y) {
            let oc = self.cell(x as usize, y as usize);
            let nc = self.cell(nx as usize, ny as usize);
            self.count[k][oc] -= 1;
            self.count[k][nc] += 1;
            self.x[a] = nx as u16;
            self.y[a] = ny as u16;
        }
    }

    /// Step 5 for one live agent.
    fn interact(&mut self, a: usize) {
        let k = self.kind_of(a);
        if self.energy[a] <= 0.0 {
            self.reward[a] = 0.0;
            self.kill(a);
            if k == PREDATOR {
                self.stats.deaths_predator_starved += 1;
            } else {
                self.stats.deaths_prey_starved += 1;
            }
            return;
        }
        let (x, y) = (usize::from(self.x[a]), usize::from(self.y[a]));
        let c = self.cell(x, y);
        let p = &self.params[k];
        if k == PREDATOR {
            if self.count[PREY][c] == 0 {
                self.reward[a] = p.reward_step;
                return;
            }
            // The first prey on this cell in registration order.
            let mut victim = usize::MAX;
            let mut best = u64::MAX;
            for b in self.offset[PREY]..self.alive.len() {
                if self.alive[b]
                    && usize::from(self.x[b]) == x
                    && usize::from(self.y[b]) == y
                    && self.reg[b] < best
                {
                    best = self.reg[b];
                    victim = b;
                }
            }
            if victim == usize::MAX {
                self.reward[a] = p.reward_step;
                return;
            }
            self.reward[a] = p.reward_eat;
            let gain = self.energy[victim].min(p.max_gain) * self.config.energy_transfer_efficiency;
            self.energy[a] = (self.energy[a] + gain).min(p.max_energy);
            let e = self.energy[a] as f32;
            self.set_layer_at_agent(a, e);
            self.reward[victim] = self.params[PREY].penalty_caught;
            self.kill(victim);
            self.stats.deaths_prey_eaten += 1;
        } else {
            let gi = self.grass_at[c];
            if gi == NO_GRASS {
                self.reward[a] = p.reward_step;
                return;
            }
            let gi = gi as usize;
            self.reward[a] = p.reward_eat;
            let gain =
                self.grass_energy[gi].min(p.max_gain) * self.config.energy_transfer_efficiency;
            self.energy[a] = (self.energy[a] + gain).min(p.max_energy);
            let e = self.energy[a] as f32;
            self.set_layer_at_agent(a, e);
            let gl = self.lidx(3, x, y);
            self.layers[gl] = 0.0;
            self.grass_energy[gi] = 0.0;
        }
    }

    /// The first of the four neighbours inside the grid with no agent, else a uniformly random
    /// cell with no agent; `None` if every cell holds an agent.
    fn spawn_cell(&mut self, x: usize, y: usize) -> Option<(usize, usize)> {
        let g = self.g;
        let free = |s: &Self, cx: usize, cy: usize| {
            let c = s.cell(cx, cy);
            s.count[PREDATOR][c] == 0 && s.count[PREY][c] == 0
        };
        if x > 0 && free(self, x - 1, y) {
            return Some((x - 1, y));
        }
        if x + 1 < g && free(self, x + 1, y) {
            return Some((x + 1, y));
        }
        if y > 0 && free(self, x, y - 1) {
            return Some((x, y - 1));
        }
        if y + 1 < g && free(self, x, y + 1) {
            return Some((x, y + 1));
        }
        let n_free = (0..g * g)
            .filter(|&c| self.count[PREDATOR][c] == 0 && self.count[PREY][c] == 0)
            .count();
        if n_free == 0 {
            return None;
        }
        let pick = self.rng.random_range(0..n_free);
        (0..g * g)
            .filter(|&c| self.count[PREDATOR][c] == 0 && self.count[PREY][c] == 0)
            .nth(pick)
            .map(|c| (c / g, c % g))
    }

    /// Step 7 for one agent alive at the start of the phase.
    fn reproduce(&mut self, a: usize) {
        let k = self.kind_of(a);
        let cooldown = i64::from(self.config.reproduction_cooldown_steps);
        if i64::from(self.step_count) - self.last_repro[a] < cooldown {
            return;
        }
        let p = &self.params[k];
        let draw: f64 = self.rng.random();
        if draw > p.chance {
            return;
        }
        if self.energy[a] < p.threshold {
            return;
        }
        // The reference draws every mutation against the predators' rate.
        let mutated = self.rng.random::<f64>() < self.config.mutation_rate_predator;
        let reward = p.reward_repro;
        let initial = p.initial;
        self.reward[a] = reward;
        if mutated {
            // A type-2 child: no type-2 ids exist here, so it is never born.
            return;
        }
        let start = self.offset[k];
        let n = self.params[k].n_slots;
        // With proper termination a slot freed this step is not reused until the next one, so
        // that a slot's output describes one agent.
        let keep_dead = self.config.proper_termination;
        let Some(slot) =
            (0..n).find(|&s| !(self.alive[start + s] || keep_dead && self.died_now[start + s]))
        else {
            return;
        };
        let Some((cx, cy)) = self.spawn_cell(usize::from(self.x[a]), usize::from(self.y[a])) else {
            return;
        };
        self.last_repro[a] = i64::from(self.step_count);
        let child = start + slot;
        let child_energy = initial * self.config.reproduction_energy_efficiency;
        self.register(child, cx, cy, child_energy, initial as f32);
        self.energy[a] -= initial;
        let e = self.energy[a] as f32;
        self.set_layer_at_agent(a, e);
        if k == PREDATOR {
            self.stats.births_predator += 1;
        } else {
            self.stats.births_prey += 1;
        }
    }

    fn write_step_output(&mut self, out: &mut StepOutput) {
        for k in &mut out.kinds {
            k.clear();
        }
        let done = self.live[PREDATOR] == 0 || self.live[PREY] == 0;
        for i in 0..self.order.len() {
            let a = self.order[i] as usize;
            let k = self.kind_of(a);
            let s = a - self.offset[k];
            let r = self.reward[a];
            self.stats.returns[k][s] += f64::from(r);
            let ko = &mut out.kinds[k];
            ko.present[s] = true;
            ko.reward[s] = r;
            ko.acting[s] = !done;
            ko.terminated[s] = done;
            let len = self.kinds[k].obs_len();
            self.write_obs(a, &mut ko.obs[s * len..(s + 1) * len]);
        }
        if self.config.proper_termination {
            for i in 0..self.dead_now.len() {
                let a = self.dead_now[i] as usize;
                let k = self.kind_of(a);
                let s = a - self.offset[k];
                let r = self.reward[a];
                self.stats.returns[k][s] += f64::from(r);
                let ko = &mut out.kinds[k];
                ko.present[s] = true;
                ko.reward[s] = r;
                ko.terminated[s] = true;
                let len = self.kinds[k].obs_len();
                self.write_obs(a, &mut ko.obs[s * len..(s + 1) * len]);
            }
        }
        out.done = done;
        self.stats.regular_steps += 1;
        self.stats.live_predator_steps += self.live[PREDATOR] as u64;
        self.stats.live_prey_steps += self.live[PREY] as u64;
        if done {
            self.running = false;
            self.stats.end_reason = Some(if self.live[PREDATOR] == 0 {
                EndReason::ExtinctionPredators
            } else {
                EndReason::ExtinctionPrey
            });
        }
    }

    /// Sort `order` by id string rank; it is nearly sorted (survivors, then a few newborns).
    fn sort_order(&mut self) {
        let rank = &self.rank;
        let order = &mut self.order;
        for i in 1..order.len() {
            let v = order[i];
            let rv = rank[v as usize];
            let mut j = i;
            while j > 0 && rank[order[j - 1] as usize] > rv {
                order[j] = order[j - 1];
                j -= 1;
            }
            order[j] = v;
        }
    }
}

impl MultiAgentEnv for PredPreyGrass {
    fn kinds(&self) -> &[AgentKind] {
        &self.kinds
    }

    fn reset(&mut self, seed: u64, out: &mut StepOutput) {
        self.ensure_output(out);
        self.reset_state(seed);
        self.write_reset_output(out);
    }

    fn step(&mut self, actions: &Actions, out: &mut StepOutput) -> Result<(), EnvError> {
        if !self.running {
            return Err(EnvError::NotRunning);
        }
        check_actions(&self.kinds, actions)?;
        self.check_output(out)?;
        let n_actions = self.moves.len();
        for &a in &self.acts {
            let a = a as usize;
            let k = self.kind_of(a);
            let s = a - self.offset[k];
            let action = actions.per_kind[k][s];
            if action as usize >= n_actions {
                return Err(EnvError::BadAction {
                    agent: self.kinds[k].agent_id(s),
                    action,
                    n_actions,
                });
            }
        }
        self.stats.steps += 1;
        // 0. Truncation.
        if self.step_count >= self.config.max_steps {
            self.truncate(out);
            return Ok(());
        }
        for &a in &self.dead_now {
            self.died_now[a as usize] = false;
        }
        self.dead_now.clear();
        for &a in &self.order {
            self.reward[a as usize] = 0.0;
        }
        // 1-2. Energy loss and age of the agents that acted.
        for i in 0..self.acts.len() {
            let a = self.acts[i] as usize;
            let k = self.kind_of(a);
            self.energy[a] -= self.params[k].loss;
            let e = self.energy[a] as f32;
            self.set_layer_at_agent(a, e);
            self.age[a] += 1;
        }
        // 3. Grass regrowth.
        let gain = self.config.energy_gain_per_step_grass;
        let cap = self.config.max_energy_grass.unwrap_or(f64::INFINITY);
        for i in 0..self.grass_energy.len() {
            let e = (self.grass_energy[i] + gain).min(cap);
            self.grass_energy[i] = e;
            let li = self.lidx(3, usize::from(self.grass_x[i]), usize::from(self.grass_y[i]));
            self.layers[li] = e as f32;
        }
        // 4. Moves, in the order of the last output.
        for i in 0..self.acts.len() {
            let a = self.acts[i] as usize;
            let k = self.kind_of(a);
            let action = actions.per_kind[k][a - self.offset[k]] as usize;
            self.move_agent(a, action);
        }
        // 5. Interactions, in id string order.
        for i in 0..self.order.len() {
            let a = self.order[i] as usize;
            if self.alive[a] {
                self.interact(a);
            }
        }
        // 6. Removal of the dead.
        let alive = &self.alive;
        self.order.retain(|&a| alive[a as usize]);
        // 7. Reproduction of the agents alive at the start of the phase, in id order.
        let n = self.order.len();
        for i in 0..n {
            let a = self.order[i] as usize;
            self.reproduce(a);
        }
        // 8. Output.
        self.write_step_output(out);
        self.acts.clear();
        self.acts.extend_from_slice(&self.order);
        self.sort_order();
        self.step_count += 1;
        Ok(())
    }
}
