//! `hpo env`: play and draw the predator-prey-grass environment with a uniformly random policy.
//!
//! - `hpo env stats --episodes N --seed S [--config ENV.toml]`: one JSON object per episode
//!   (seeds `S..S+N-1`), then a summary object with the mean, sample standard deviation and
//!   median of every number.
//! - `hpo env render --seed S --steps N --out FILE.gif|FILE.png|- [--text] [--config ENV.toml]`:
//!   an animated GIF, a PNG strip of frames, or a text rendering in the terminal.
//!
//! The policy ([`RandomPolicy`]) draws from its own generator seeded by the episode seed, so
//! an episode line is reproduced by its seed alone.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, Rgba, RgbaImage};
use marl_env::{MultiAgentEnv, PREDATOR, PREY, PpgConfig, PredPreyGrass, RandomPolicy};
use serde::Serialize;

use crate::InputError;

/// Arguments.
#[derive(Debug, clap::Subcommand)]
pub enum EnvCommand {
    /// Play episodes with uniformly random actions; print one JSON line per episode and a summary.
    Stats(StatsArgs),
    /// Draw one episode with uniformly random actions (GIF, PNG strip, or text).
    Render(RenderArgs),
}

/// `hpo env stats`.
#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// Number of episodes.
    #[arg(long, default_value_t = 10)]
    pub episodes: u64,
    /// Seed of the first episode; episode i uses seed + i.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Environment settings (TOML, any subset of the keys; default: the reference's train_v1_0).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// `hpo env render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// Episode seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Steps to draw at most (the episode may end earlier).
    #[arg(long, default_value_t = 100)]
    pub steps: u32,
    /// Output: FILE.gif (animation), FILE.png (a strip of frames) or - (text on stdout).
    #[arg(long)]
    pub out: Option<String>,
    /// Also print every frame as text on stdout.
    #[arg(long)]
    pub text: bool,
    /// Pixels per grid cell in images.
    #[arg(long, default_value_t = 16)]
    pub cell_px: u32,
    /// Environment settings (TOML; default: the reference's train_v1_0).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Run the command.
pub fn run(cmd: EnvCommand) -> anyhow::Result<()> {
    match cmd {
        EnvCommand::Stats(args) => stats(&args),
        EnvCommand::Render(args) => render(&args),
    }
}

fn input_error(msg: String) -> anyhow::Error {
    anyhow::Error::new(InputError(msg))
}

/// Read and validate an environment config; every failure is the user's input (exit code 2).
pub fn load_config(path: Option<&Path>) -> anyhow::Result<PpgConfig> {
    let Some(path) = path else {
        return Ok(PpgConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| input_error(format!("cannot read env config {}: {e}", path.display())))?;
    let config: PpgConfig = toml::from_str(&text)
        .map_err(|e| input_error(format!("env config {}: {e}", path.display())))?;
    config.validate().map_err(|e| input_error(format!("env config {}: {e}", path.display())))?;
    Ok(config)
}

fn new_env(config: PpgConfig) -> anyhow::Result<PredPreyGrass> {
    PredPreyGrass::new(config).map_err(|e| input_error(format!("env config: {e}")))
}

/// One line of `hpo env stats`.
#[derive(Debug, Serialize)]
struct EpisodeLine {
    seed: u64,
    steps: u32,
    end_reason: &'static str,
    births_predator: u32,
    births_prey: u32,
    deaths_predator_starved: u32,
    deaths_prey_starved: u32,
    deaths_prey_eaten: u32,
    mean_live_predators: f64,
    mean_live_prey: f64,
    return_type_1_predator_0: f64,
    return_all_predators: f64,
    return_all_prey: f64,
}

impl EpisodeLine {
    fn numbers(&self) -> [(&'static str, f64); 12] {
        [
            ("steps", f64::from(self.steps)),
            ("births_predator", f64::from(self.births_predator)),
            ("births_prey", f64::from(self.births_prey)),
            ("deaths_predator_starved", f64::from(self.deaths_predator_starved)),
            ("deaths_prey_starved", f64::from(self.deaths_prey_starved)),
            ("deaths_prey_eaten", f64::from(self.deaths_prey_eaten)),
            ("mean_live_predators", self.mean_live_predators),
            ("mean_live_prey", self.mean_live_prey),
            ("return_type_1_predator_0", self.return_type_1_predator_0),
            ("return_all_predators", self.return_all_predators),
            ("return_all_prey", self.return_all_prey),
            ("is_truncated", f64::from(u8::from(self.end_reason == "truncated"))),
        ]
    }
}

/// The last line of `hpo env stats`.
#[derive(Debug, Serialize)]
struct Summary {
    summary: bool,
    episodes: u64,
    end_reasons: BTreeMap<&'static str, u64>,
    mean: BTreeMap<&'static str, f64>,
    std: BTreeMap<&'static str, f64>,
    median: BTreeMap<&'static str, f64>,
}

fn play_episode(env: &mut PredPreyGrass, seed: u64) -> anyhow::Result<EpisodeLine> {
    let mut out = env.new_output();
    let mut actions = env.new_actions();
    let mut policy = RandomPolicy::new(seed);
    env.reset(seed, &mut out);
    while !out.done {
        policy.act(env.kinds(), &out, &mut actions);
        env.step(&actions, &mut out).context("stepping the environment")?;
    }
    let s = env.episode_stats();
    Ok(EpisodeLine {
        seed,
        steps: s.steps,
        end_reason: s.end_reason.map_or("running", |r| r.as_str()),
        births_predator: s.births_predator,
        births_prey: s.births_prey,
        deaths_predator_starved: s.deaths_predator_starved,
        deaths_prey_starved: s.deaths_prey_starved,
        deaths_prey_eaten: s.deaths_prey_eaten,
        mean_live_predators: s.mean_live_predators(),
        mean_live_prey: s.mean_live_prey(),
        return_type_1_predator_0: s.returns[PREDATOR][0],
        return_all_predators: s.return_all(PREDATOR),
        return_all_prey: s.return_all(PREY),
    })
}

fn stats(args: &StatsArgs) -> anyhow::Result<()> {
    if args.episodes == 0 {
        return Err(input_error("--episodes must be at least 1".to_string()));
    }
    let mut env = new_env(load_config(args.config.as_deref())?)?;
    let mut stdout = std::io::stdout().lock();
    let mut columns: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    let mut end_reasons: BTreeMap<&'static str, u64> = BTreeMap::new();
    for i in 0..args.episodes {
        let line = play_episode(&mut env, args.seed.wrapping_add(i))?;
        writeln!(stdout, "{}", serde_json::to_string(&line)?)?;
        *end_reasons.entry(line.end_reason).or_default() += 1;
        for (name, v) in line.numbers() {
            columns.entry(name).or_default().push(v);
        }
    }
    let mut summary = Summary {
        summary: true,
        episodes: args.episodes,
        end_reasons,
        mean: BTreeMap::new(),
        std: BTreeMap::new(),
        median: BTreeMap::new(),
    };
    for (name, values) in &mut columns {
        let (mean, std, median) = describe(values);
        summary.mean.insert(name, mean);
        summary.std.insert(name, std);
        summary.median.insert(name, median);
    }
    writeln!(stdout, "{}", serde_json::to_string(&summary)?)?;
    Ok(())
}

/// Mean, sample standard deviation (0 for one value) and median.
fn describe(values: &mut [f64]) -> (f64, f64, f64) {
    let n = values.len();
    if n == 0 {
        return (0.0, 0.0, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let std = if n > 1 {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    values.sort_by(f64::total_cmp);
    let median = if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 };
    (mean, std, median)
}

/// What one drawn frame shows.
struct Snapshot {
    step: u32,
    n_predators: usize,
    n_prey: usize,
    /// Per cell (`x * g + y`): grass energy, predator here, prey here.
    cells: Vec<(f64, bool, bool)>,
}

fn snapshot(env: &PredPreyGrass) -> Snapshot {
    let g = env.grid_size();
    let mut cells = vec![(0.0, false, false); g * g];
    for (x, y, e) in env.grass() {
        cells[x * g + y].0 = e;
    }
    for (kind, set) in [(PREDATOR, 1), (PREY, 2)] {
        for slot in env.alive_slots(kind) {
            if let Some(a) = env.agent(kind, slot) {
                let c = &mut cells[a.x * g + a.y];
                if set == 1 {
                    c.1 = true;
                } else {
                    c.2 = true;
                }
            }
        }
    }
    Snapshot {
        step: env.current_step(),
        n_predators: env.n_alive(PREDATOR),
        n_prey: env.n_alive(PREY),
        cells,
    }
}

fn render(args: &RenderArgs) -> anyhow::Result<()> {
    let config = load_config(args.config.as_deref())?;
    let out_kind = match args.out.as_deref() {
        None if args.text => None,
        None => {
            return Err(input_error(
                "give --out FILE.gif, --out FILE.png or --out - (text), or --text".to_string(),
            ));
        }
        Some("-") => None,
        Some(path) => {
            let lower = path.to_ascii_lowercase();
            if lower.ends_with(".gif") {
                Some((PathBuf::from(path), true))
            } else if lower.ends_with(".png") {
                Some((PathBuf::from(path), false))
            } else {
                return Err(input_error(format!(
                    "--out {path}: use a .gif or .png file name, or - for text"
                )));
            }
        }
    };
    if args.cell_px == 0 || args.cell_px > 64 {
        return Err(input_error(format!("--cell-px {} must be between 1 and 64", args.cell_px)));
    }
    let grass_max = config.max_energy_grass.unwrap_or(config.initial_energy_grass).max(1e-9);
    let max_agents = (config.n_possible_type_1_predators, config.n_possible_type_1_prey);
    let mut env = new_env(config)?;
    let mut out = env.new_output();
    let mut actions = env.new_actions();
    let mut policy = RandomPolicy::new(args.seed);
    env.reset(args.seed, &mut out);
    let mut frames = vec![snapshot(&env)];
    for _ in 0..args.steps {
        if out.done {
            break;
        }
        policy.act(env.kinds(), &out, &mut actions);
        env.step(&actions, &mut out).context("stepping the environment")?;
        frames.push(snapshot(&env));
    }
    let g = env.grid_size();
    let text_to_stdout = args.text || out_kind.is_none();
    if text_to_stdout {
        let mut stdout = std::io::stdout().lock();
        for f in &frames {
            write!(stdout, "{}", text_frame(f, g, grass_max))?;
        }
        if let Some(reason) = env.episode_stats().end_reason {
            writeln!(stdout, "episode over: {}", reason.as_str())?;
        }
    }
    if let Some((path, gif)) = out_kind {
        let style = Style { g, px: args.cell_px, grass_max, max_agents };
        if gif {
            write_gif(&path, &frames, &style)?;
        } else {
            write_png_strip(&path, &frames, &style)?;
        }
        eprintln!(
            "wrote {} ({} frames, steps 0..{})",
            path.display(),
            frames.len(),
            frames.last().map_or(0, |f| f.step)
        );
    }
    Ok(())
}

/// A text frame: `X` predator, `o` prey, `@` both, grass `.` (some) `:` (half) `*` (full).
fn text_frame(f: &Snapshot, g: usize, grass_max: f64) -> String {
    let mut s = format!(
        "step {}: {} predators (X), {} prey (o), grass . : *\n",
        f.step, f.n_predators, f.n_prey
    );
    s.push('+');
    s.push_str(&"-".repeat(g));
    s.push_str("+\n");
    for x in 0..g {
        s.push('|');
        for y in 0..g {
            let (grass, pred, prey) = f.cells[x * g + y];
            s.push(match (pred, prey) {
                (true, true) => '@',
                (true, false) => 'X',
                (false, true) => 'o',
                _ if grass <= 0.0 => ' ',
                _ if grass < grass_max / 2.0 => '.',
                _ if grass < grass_max => ':',
                _ => '*',
            });
        }
        s.push_str("|\n");
    }
    s.push('+');
    s.push_str(&"-".repeat(g));
    s.push_str("+\n");
    s
}

struct Style {
    g: usize,
    px: u32,
    grass_max: f64,
    max_agents: (usize, usize),
}

const SOIL: [u8; 3] = [52, 40, 30];
const GRASS: [u8; 3] = [70, 170, 60];
const PREDATOR_RGB: [u8; 3] = [220, 50, 40];
const PREY_RGB: [u8; 3] = [90, 170, 255];
/// Height of the population bars under the grid.
const BAR_PX: u32 = 6;

fn lerp(a: [u8; 3], b: [u8; 3], t: f64) -> Rgba<u8> {
    let t = t.clamp(0.0, 1.0);
    let c = |i: usize| (f64::from(a[i]) + (f64::from(b[i]) - f64::from(a[i])) * t).round() as u8;
    Rgba([c(0), c(1), c(2), 255])
}

/// One frame: the grid (x down, y across), then two bars: live predators and live prey as a
/// share of their possible ids.
fn draw(f: &Snapshot, st: &Style) -> RgbaImage {
    let side = st.g as u32 * st.px;
    let mut img = RgbaImage::from_pixel(side, side + 2 * BAR_PX, Rgba([20, 20, 20, 255]));
    let px = st.px;
    let m = (px / 6).max(1).min(px.saturating_sub(1) / 2);
    for x in 0..st.g {
        for y in 0..st.g {
            let (grass, pred, prey) = f.cells[x * st.g + y];
            let (ox, oy) = (y as u32 * px, x as u32 * px);
            let ground = lerp(SOIL, GRASS, grass / st.grass_max);
            for i in 0..px {
                for j in 0..px {
                    let inner = i >= m && j >= m && i < px - m && j < px - m;
                    // prey: a diamond; predator: a square; both: predator with a prey core
                    let (ci, cj) = ((2 * i + 1) as i64 - px as i64, (2 * j + 1) as i64 - px as i64);
                    let diamond = ci.abs() + cj.abs() <= (px as i64 - 2 * m as i64);
                    let core = ci.abs().max(cj.abs()) <= (px as i64) / 3;
                    let c = if pred && inner && !(prey && core) {
                        Rgba([PREDATOR_RGB[0], PREDATOR_RGB[1], PREDATOR_RGB[2], 255])
                    } else if prey && ((pred && core) || (!pred && diamond)) {
                        Rgba([PREY_RGB[0], PREY_RGB[1], PREY_RGB[2], 255])
                    } else {
                        ground
                    };
                    img.put_pixel(ox + j, oy + i, c);
                }
            }
        }
    }
    let bar = |img: &mut RgbaImage, row: u32, share: f64, rgb: [u8; 3]| {
        let len = (f64::from(side) * share.clamp(0.0, 1.0)).round() as u32;
        for xx in 0..len {
            for yy in 1..BAR_PX - 1 {
                img.put_pixel(xx, side + row * BAR_PX + yy, Rgba([rgb[0], rgb[1], rgb[2], 255]));
            }
        }
    };
    bar(&mut img, 0, f.n_predators as f64 / st.max_agents.0.max(1) as f64, PREDATOR_RGB);
    bar(&mut img, 1, f.n_prey as f64 / st.max_agents.1.max(1) as f64, PREY_RGB);
    img
}

fn write_gif(path: &Path, frames: &[Snapshot], st: &Style) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)
        .map_err(|e| input_error(format!("cannot create {}: {e}", path.display())))?;
    let mut enc = GifEncoder::new_with_speed(std::io::BufWriter::new(file), 30);
    enc.set_repeat(Repeat::Infinite)?;
    for (i, f) in frames.iter().enumerate() {
        let last = i + 1 == frames.len();
        let delay = Delay::from_numer_denom_ms(if last { 1500 } else { 120 }, 1);
        enc.encode_frame(Frame::from_parts(draw(f, st), 0, 0, delay))
            .with_context(|| format!("encoding frame {i} of {}", path.display()))?;
    }
    Ok(())
}

/// Up to 6 frames, evenly spaced from the first to the last, side by side.
fn write_png_strip(path: &Path, frames: &[Snapshot], st: &Style) -> anyhow::Result<()> {
    let n = frames.len().min(6);
    let picks: Vec<usize> = if n <= 1 {
        vec![frames.len().saturating_sub(1)]
    } else {
        (0..n).map(|i| i * (frames.len() - 1) / (n - 1)).collect()
    };
    let imgs: Vec<RgbaImage> = picks.iter().map(|&i| draw(&frames[i], st)).collect();
    let (w, h) = imgs.first().map_or((1, 1), |i| (i.width(), i.height()));
    let gap = 4;
    let total_w = imgs.len() as u32 * (w + gap) - gap;
    let mut strip = RgbaImage::from_pixel(total_w, h, Rgba([255, 255, 255, 255]));
    for (k, img) in imgs.iter().enumerate() {
        image::imageops::replace(&mut strip, img, i64::from(k as u32 * (w + gap)), 0);
    }
    strip.save(path).map_err(|e| input_error(format!("cannot write {}: {e}", path.display())))?;
    Ok(())
}
