//! Which network reaches `score_pred >= 1.0` first in wall time: the MLP and the conv network
//! train side by side on predator-prey-grass with the reference hyperparameters (lr 1.1e-4,
//! 26 epochs, 1024 env steps per iteration, 3 env runners), each in its own process pinned to
//! its own core (its learner, its runners and its learner pool of one thread), until one reaches
//! the target, the other's clock passes the winner's time, or the time budget runs out. Separate
//! processes, because burn-autodiff keeps one graph registry per process: a backward pass's
//! cleanup locks every graph in it, so in one process the MLP's learner waits for the conv's
//! backward passes (docs/ppo.md, "Threads").
//!
//! `cargo xtask bench ppo-race [-- --minutes 60 --seed 0 --epochs 26 --lr 1.1e-4 --out DIR]`;
//! `cargo xtask bench ppo-race -- --resume DIR [--minutes M]` continues a race that was stopped
//! (Ctrl-C, a reboot) from each run's last checkpoint, with a new budget if given;
//! `cargo xtask bench ppo-race -- --replot DIR` redraws `DIR/curves.png` from `DIR/curves.csv`.
//!
//! The race folder (default: the workspace's `target/ppo-race`) holds `race.json` (settings),
//! `curves.csv` (every iteration of both runs, appended and flushed as it finishes),
//! `curves.png` (`score_pred` against wall time and against iterations, drawn at the end) and
//! per run a checkpoint of its last iteration (`mlp/checkpoint`, `conv/checkpoint`). Each run keeps its own clock:
//! the wall time of its finished iterations, continued across resumes (time lost in an
//! interrupted iteration is not counted). A run still inside an iteration when its budget ends
//! is cut there. Without `--bench` (as `cargo test --all-targets` runs it) a tiny
//! configuration runs one iteration per network into a temporary folder, resumes for a second
//! and checks the rows against an uninterrupted run.
//! Last line: `{"winner", "mlp_s_to_target", "conv_s_to_target", "mlp_iterations",
//! "conv_iterations", "mlp_best_score", "conv_best_score", "minutes"}`.

mod common;

use common::arg;

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, unbounded};
use marl_env::PpgConfig;
use plotters::prelude::*;
use ppo_burn::{EnvSpec, Network, PpoConfig, Trainer};
use serde::{Deserialize, Serialize};

const TARGET: f64 = 1.0;
const NETWORKS: [Network; 2] = [Network::Mlp, Network::Conv];
const HEADER: &str = "network,iteration,wall_s,score_pred,predator_return,env_steps_total,agent_steps,sample_s,learn_s";

fn label(network: Network) -> &'static str {
    match network {
        Network::Mlp => "mlp",
        Network::Conv => "conv",
    }
}

/// One finished iteration of one run.
#[derive(Debug, Clone)]
struct Row {
    network: Network,
    iteration: u64,
    wall_s: f64,
    score_pred: f64,
    predator_return: f64,
    env_steps_total: u64,
    agent_steps: u64,
    sample_s: f64,
    learn_s: f64,
}

impl Row {
    fn csv(&self) -> String {
        format!(
            "{},{},{:.3},{},{},{},{},{:.3},{:.3}",
            label(self.network),
            self.iteration,
            self.wall_s,
            self.score_pred,
            self.predator_return,
            self.env_steps_total,
            self.agent_steps,
            self.sample_s,
            self.learn_s
        )
    }
}

/// The race's settings, kept in `race.json` so that `--resume` runs the same race.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Settings {
    full: bool,
    seed: u64,
    lr: f64,
    epochs: usize,
    minutes: f64,
    max_iterations: u64,
}

impl Settings {
    fn config_and_env(&self) -> (PpoConfig, EnvSpec) {
        if self.full {
            let config = PpoConfig { lr: self.lr, num_epochs: self.epochs, ..PpoConfig::default() };
            (config, EnvSpec::PredPreyGrass(PpgConfig::default()))
        } else {
            let config = PpoConfig {
                lr: self.lr,
                num_epochs: self.epochs,
                train_batch_size: 24,
                minibatch_size: 24,
                num_env_runners: 1,
                conv_channels: vec![4],
                conv_channels_per_kind: Default::default(),
                mlp_hiddens: vec![16],
                ..PpoConfig::default()
            };
            let env = PpgConfig {
                grid_size: 10,
                initial_num_grass: 20,
                max_steps: 30,
                ..PpgConfig::default()
            };
            (config, EnvSpec::PredPreyGrass(env))
        }
    }
}

enum Msg {
    Row(Row),
    Done(Network, Result<(), String>),
}

/// What the two runs share: the CSV file and each network's first hit time (race seconds,
/// as f64 bits; `u64::MAX` = none yet).
struct Shared {
    csv: Mutex<File>,
    hits: [AtomicU64; 2],
}

impl Shared {
    fn hit(&self, network: Network) -> Option<f64> {
        let bits = self.hits[network as usize].load(Ordering::SeqCst);
        (bits != u64::MAX).then(|| f64::from_bits(bits))
    }
}

/// One run of the race, trained in its own process (`--race-worker NET --dir OUT`).
struct Run {
    network: Network,
    settings: Settings,
    dir: PathBuf,
    core: Option<usize>,
    /// The run's clock at its checkpoint (0 for a new run); `Some` resumes from `dir`.
    resume_at: Option<f64>,
    /// The other network's time to the target, when it had reached it before this run started.
    stop_at: Option<f64>,
}

impl Run {
    /// The worker's command line, read back by [`Run::from_args`].
    fn args(&self, out: &Path) -> Vec<String> {
        let mut args = vec![
            "--race-worker".to_string(),
            label(self.network).to_string(),
            "--dir".to_string(),
            out.display().to_string(),
        ];
        let options = [
            ("--core", self.core.map(|c| c.to_string())),
            ("--resume-at", self.resume_at.map(|t| t.to_string())),
            ("--stop-at", self.stop_at.map(|t| t.to_string())),
        ];
        for (name, value) in options {
            if let Some(value) = value {
                args.extend([name.to_string(), value]);
            }
        }
        args
    }

    fn from_args(args: &[String]) -> Result<Run, Box<dyn std::error::Error>> {
        let network = match arg::<String>(args, "--race-worker").as_deref() {
            Some("mlp") => Network::Mlp,
            Some("conv") => Network::Conv,
            other => return Err(format!("--race-worker: unknown network {other:?}").into()),
        };
        let out: PathBuf = arg(args, "--dir").ok_or("--race-worker needs --dir")?;
        let text = std::fs::read_to_string(out.join("race.json"))?;
        Ok(Run {
            network,
            settings: serde_json::from_str(&text)?,
            dir: out.join(label(network)),
            core: arg(args, "--core"),
            resume_at: arg(args, "--resume-at"),
            stop_at: arg(args, "--stop-at"),
        })
    }
}

/// The worker: trains until the target, the budget, `max_iterations`, the other network's time
/// to the target (`stop_at`), or until the race says `end`. After every finished iteration it
/// saves a checkpoint beside the last one, prints the row (`row <csv>`), waits for the race to
/// write it to the CSV (`go` or `end` on stdin), then swaps the checkpoint in: a resume finds
/// either the new checkpoint with its row written, or the previous one.
fn race_one(run: Run) -> Result<(), String> {
    let (config, env) = run.settings.config_and_env();
    let config = PpoConfig { network: run.network, ..config };
    let cores = run.core.map(|c| vec![c]);
    let checkpoint = run.dir.join("checkpoint");
    let fresh = run.dir.join("checkpoint.new");
    let (mut trainer, offset): (Trainer, f64) = match run.resume_at {
        Some(at) => (Trainer::load(&checkpoint, env, cores).map_err(|e| e.to_string())?, at),
        None => {
            (Trainer::new(config, env, run.settings.seed, cores).map_err(|e| e.to_string())?, 0.0)
        }
    };
    let budget = run.settings.minutes * 60.0;
    let start = Instant::now();
    let clock = || offset + start.elapsed().as_secs_f64();
    let mut replies = std::io::stdin().lock().lines();
    let mut stdout = std::io::stdout().lock();
    loop {
        let lost = run.stop_at.is_some_and(|t| clock() >= t);
        if clock() >= budget || lost || trainer.iteration() >= run.settings.max_iterations {
            return Ok(());
        }
        let m = trainer.train_iteration().map_err(|e| e.to_string())?;
        let wall_s = clock();
        if wall_s > budget {
            return Ok(());
        }
        let row = Row {
            network: run.network,
            iteration: m.training_iteration,
            wall_s,
            score_pred: m.score_pred,
            predator_return: m.predator_return,
            env_steps_total: m.env_steps_total,
            agent_steps: m.agent_steps,
            sample_s: m.sample_seconds,
            learn_s: m.learn_seconds,
        };
        let _ = std::fs::remove_dir_all(&fresh);
        trainer.save(&fresh).map_err(|e| e.to_string())?;
        writeln!(stdout, "row {}", row.csv())
            .and_then(|()| stdout.flush())
            .map_err(|e| e.to_string())?;
        // No answer: the race is gone and the row may not be written; keep the old checkpoint.
        let Some(Ok(reply)) = replies.next() else { return Ok(()) };
        let _ = std::fs::remove_dir_all(&checkpoint);
        std::fs::rename(&fresh, &checkpoint).map_err(|e| e.to_string())?;
        if reply.trim() != "go" {
            return Ok(());
        }
    }
}

/// The race's side of one run: writes each row its worker prints to the CSV, notes a hit,
/// answers `end` to a run that reached the target or whose clock has passed the other's time
/// to it (else `go`), and passes the row on. Ends when the worker closes its output.
fn relay(
    network: Network,
    output: ChildStdout,
    mut input: ChildStdin,
    shared: &Shared,
    tx: &Sender<Msg>,
) -> Result<(), String> {
    let other = NETWORKS[1 - network as usize];
    let header: Vec<&str> = HEADER.split(',').collect();
    for line in BufReader::new(output).lines() {
        let line = line.map_err(|e| e.to_string())?;
        let Some(fields) = line.strip_prefix("row ") else {
            println!("{line}");
            continue;
        };
        let row = parse_row(&header, fields)?;
        if row.network != network {
            return Err(format!("the {} worker sent a {} row", label(network), label(row.network)));
        }
        {
            let mut csv = shared.csv.lock().map_err(|_| "csv lock poisoned".to_string())?;
            writeln!(csv, "{}", row.csv()).and_then(|()| csv.flush()).map_err(|e| e.to_string())?;
        }
        let hit = row.score_pred >= TARGET;
        if hit {
            shared.hits[network as usize].store(row.wall_s.to_bits(), Ordering::SeqCst);
        }
        let lost = shared.hit(other).is_some_and(|t| row.wall_s >= t);
        let listening = tx.send(Msg::Row(row)).is_ok();
        let reply = if hit || lost || !listening { "end" } else { "go" };
        // A worker that has already exited cannot be told; its output then ends too.
        let _ = writeln!(input, "{reply}").and_then(|()| input.flush());
    }
    Ok(())
}

/// By network, then iteration.
fn sort_rows(rows: &mut [Row]) {
    rows.sort_by_key(|r| (r.network as usize, r.iteration));
}

/// The iteration of the checkpoint in `dir` (`checkpoint`, or `checkpoint.new` if a swap was cut
/// between its two steps), if any.
fn checkpoint_iteration(dir: &Path) -> Option<u64> {
    let new = dir.join("checkpoint.new");
    let current = dir.join("checkpoint");
    if !current.exists() && new.exists() {
        let _ = std::fs::rename(&new, &current);
    }
    let text = std::fs::read_to_string(current.join("trainer_state.json")).ok()?;
    let state: serde_json::Value = serde_json::from_str(&text).ok()?;
    state.get("iteration")?.as_u64()
}

/// `score_pred` of both runs against wall time (left) and against training iterations (right:
/// what each network learns per iteration, whatever the hardware).
fn plot(path: &Path, rows: &[Row], minutes: f64) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(path, (1600, 650)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(1000);
    let iterations = rows.iter().map(|r| r.iteration).max().unwrap_or(1).max(1) as f64;
    panel(
        &left,
        rows,
        "score_pred against wall time (each run on its own core)",
        "wall time (minutes)",
        minutes.max(1e-3),
        |r| r.wall_s / 60.0,
    )?;
    panel(
        &right,
        rows,
        "score_pred per training iteration",
        "training iteration",
        iterations,
        |r| r.iteration as f64,
    )?;
    root.present()?;
    Ok(())
}

fn panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    rows: &[Row],
    caption: &str,
    x_desc: &str,
    x_max: f64,
    x_of: impl Fn(&Row) -> f64,
) -> Result<(), Box<dyn std::error::Error>> {
    let y_max = rows.iter().map(|r| r.score_pred).fold(TARGET, f64::max) * 1.1;
    let y_min = rows.iter().map(|r| r.score_pred).fold(0.0, f64::min);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, y_min..y_max)?;
    chart.configure_mesh().x_desc(x_desc).y_desc("score_pred").draw()?;
    chart
        .draw_series(LineSeries::new([(0.0, TARGET), (x_max, TARGET)], BLACK.stroke_width(1)))?
        .label(format!("target {TARGET}"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
    for (network, color) in [(Network::Mlp, BLUE), (Network::Conv, RED)] {
        let points: Vec<(f64, f64)> =
            rows.iter().filter(|r| r.network == network).map(|r| (x_of(r), r.score_pred)).collect();
        chart
            .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))?
            .label(format!("{} ({} iterations)", label(network), points.len()))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    Ok(())
}

/// One CSV line of a run, its columns named by `header`.
fn parse_row(header: &[&str], line: &str) -> Result<Row, String> {
    let f: Vec<&str> = line.split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let get = |name: &str| -> f64 {
        col(name).and_then(|i| f.get(i)).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
    };
    let network = match f.first() {
        Some(&"mlp") => Network::Mlp,
        Some(&"conv") => Network::Conv,
        other => return Err(format!("unknown network {other:?}")),
    };
    Ok(Row {
        network,
        iteration: get("iteration") as u64,
        wall_s: get("wall_s"),
        score_pred: get("score_pred"),
        predator_return: get("predator_return"),
        env_steps_total: get("env_steps_total") as u64,
        agent_steps: get("agent_steps").max(0.0) as u64,
        sample_s: get("sample_s"),
        learn_s: get("learn_s"),
    })
}

/// The rows of a `curves.csv` written by an earlier race (columns by name).
fn read_rows(path: &Path) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty curves.csv")?.split(',').collect();
    let mut rows = Vec::new();
    for line in lines {
        rows.push(parse_row(&header, line).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    Ok(rows)
}

/// Runs (or resumes) the race in `out`; returns every row (earlier ones included) and the
/// wall time of this session.
fn race(
    out: &Path,
    settings: &Settings,
    resume: bool,
) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("race.json"), serde_json::to_string_pretty(settings)?)?;
    let csv_path = out.join("curves.csv");
    // On resume: keep each run's rows up to its checkpoint and continue its clock from there.
    let mut rows = Vec::new();
    let mut resume_at = [None, None];
    if resume {
        let old = read_rows(&csv_path)?;
        for network in NETWORKS {
            let done = checkpoint_iteration(&out.join(label(network))).unwrap_or(0);
            let mine: Vec<Row> = old
                .iter()
                .filter(|r| r.network == network && r.iteration <= done)
                .cloned()
                .collect();
            if let Some(last) = mine.last().filter(|r| r.iteration == done) {
                resume_at[network as usize] = Some(last.wall_s);
            } else if done > 0 {
                return Err(format!(
                    "{}: checkpoint at iteration {done} has no row in curves.csv",
                    label(network)
                )
                .into());
            }
            rows.extend(mine);
        }
    }
    let mut csv = File::create(&csv_path)?;
    writeln!(csv, "{HEADER}")?;
    for r in &rows {
        writeln!(csv, "{}", r.csv())?;
    }
    csv.flush()?;
    drop(csv);
    let csv = OpenOptions::new().append(true).open(&csv_path)?;
    let shared = Arc::new(Shared {
        csv: Mutex::new(csv),
        hits: [AtomicU64::new(u64::MAX), AtomicU64::new(u64::MAX)],
    });
    for r in rows.iter().filter(|r| r.score_pred >= TARGET) {
        if shared.hit(r.network).is_none() {
            shared.hits[r.network as usize].store(r.wall_s.to_bits(), Ordering::SeqCst);
        }
    }

    // One core per run when the machine has two; otherwise they share one (times then say
    // little about which is faster, and the output says so).
    let cores: Vec<usize> =
        core_affinity::get_core_ids().unwrap_or_default().into_iter().map(|c| c.id).collect();
    let placement: Vec<Option<usize>> = match cores.as_slice() {
        [] => vec![None, None],
        [one] => {
            println!("note: one core available: both runs share it");
            vec![Some(*one), Some(*one)]
        }
        [a, b, ..] => vec![Some(*a), Some(*b)],
    };
    println!(
        "race: mlp on core {:?}, conv on core {:?}; lr {}, {} epochs, seed {}, budget {} min per run{}; rows -> {}",
        placement[0],
        placement[1],
        settings.lr,
        settings.epochs,
        settings.seed,
        settings.minutes,
        if resume {
            format!(
                "; resumed at mlp {:.1} min, conv {:.1} min",
                resume_at[0].unwrap_or(0.0) / 60.0,
                resume_at[1].unwrap_or(0.0) / 60.0
            )
        } else {
            String::new()
        },
        csv_path.display()
    );

    let start = Instant::now();
    // Both runs check their budget after every iteration; this is only the outer limit for
    // a run stuck inside an iteration when its budget ends.
    let earliest = resume_at.iter().map(|a| a.unwrap_or(0.0)).fold(f64::INFINITY, f64::min);
    let deadline = start + Duration::from_secs_f64((settings.minutes * 60.0 - earliest).max(0.0));
    let (tx, rx) = unbounded();
    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    for (network, core) in NETWORKS.into_iter().zip(placement) {
        let dir = out.join(label(network));
        std::fs::create_dir_all(&dir)?;
        let run = Run {
            network,
            settings: settings.clone(),
            dir,
            core,
            resume_at: resume_at[network as usize],
            stop_at: shared.hit(NETWORKS[1 - network as usize]),
        };
        let mut child = Command::new(&exe)
            .args(run.args(out))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the {} worker: {e}", label(network)))?;
        let output = child.stdout.take().ok_or("worker has no stdout")?;
        let input = child.stdin.take().ok_or("worker has no stdin")?;
        let (tx, shared) = (tx.clone(), Arc::clone(&shared));
        std::thread::spawn(move || {
            let result = relay(network, output, input, &shared, &tx);
            let _ = tx.send(Msg::Done(network, result));
        });
        children.push((network, child));
    }
    drop(tx);

    let mut running = NETWORKS.len();
    let mut cut = false;
    while running > 0 {
        let wait = deadline.saturating_duration_since(Instant::now());
        let msg = match rx.recv_timeout(wait) {
            Ok(msg) => msg,
            // The budget is over: whatever is mid-iteration is cut.
            Err(_) => {
                cut = true;
                break;
            }
        };
        match msg {
            Msg::Row(r) => {
                println!(
                    "[{:6.1} min] {:>4} iteration {:>3}: score_pred {:.3} ({} agent steps; sampling {:.1} s, learning {:.1} s)",
                    r.wall_s / 60.0,
                    label(r.network),
                    r.iteration,
                    r.score_pred,
                    r.agent_steps,
                    r.sample_s,
                    r.learn_s
                );
                if r.score_pred >= TARGET {
                    println!(
                        "{} reached score_pred >= {TARGET} at {:.1} min",
                        label(r.network),
                        r.wall_s / 60.0
                    );
                }
                rows.push(r);
            }
            Msg::Done(network, result) => {
                running -= 1;
                if let Err(e) = result {
                    println!("{} run failed: {e}", label(network));
                }
            }
        }
    }
    for (network, mut child) in children {
        if cut {
            let _ = child.kill();
        }
        let status = child.wait()?;
        if !status.success() && !cut {
            println!("{} worker failed: {status}", label(network));
        }
    }
    sort_rows(&mut rows);
    Ok(rows)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    // `--race-worker NET --dir OUT ...`: one run of the race, started by `race`.
    if args.iter().any(|a| a == "--race-worker") {
        return Ok(race_one(Run::from_args(&args)?)?);
    }
    // `--replot DIR`: redraw DIR/curves.png from DIR/curves.csv and stop.
    if let Some(dir) = arg::<PathBuf>(&args, "--replot") {
        let rows = read_rows(&dir.join("curves.csv"))?;
        let minutes = rows.iter().map(|r| r.wall_s).fold(0.0, f64::max) / 60.0;
        plot(&dir.join("curves.png"), &rows, minutes.ceil())?;
        println!("{} rows -> {}", rows.len(), dir.join("curves.png").display());
        return Ok(());
    }
    let full = args.iter().any(|a| a == "--bench");
    let resume = arg::<PathBuf>(&args, "--resume");
    let (out, settings) = if let Some(dir) = resume.clone() {
        let text = std::fs::read_to_string(dir.join("race.json"))
            .map_err(|e| format!("{}: not a race folder ({e})", dir.display()))?;
        let mut settings: Settings = serde_json::from_str(&text)?;
        if let Some(m) = arg(&args, "--minutes") {
            settings.minutes = m;
        }
        (dir, settings)
    } else if full {
        // The workspace's target folder (a bench runs in its package's folder).
        let default_out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ppo-race");
        let settings = Settings {
            full,
            seed: arg(&args, "--seed").unwrap_or(0),
            lr: arg(&args, "--lr").unwrap_or(1.1e-4),
            epochs: arg(&args, "--epochs").unwrap_or(26),
            minutes: arg(&args, "--minutes").unwrap_or(60.0),
            max_iterations: u64::MAX,
        };
        (arg::<PathBuf>(&args, "--out").unwrap_or(default_out), settings)
    } else {
        println!("tiny run (pass --bench for the race on the reference configuration)");
        return smoke();
    };
    let start = Instant::now();
    let rows = race(&out, &settings, resume.is_some())?;
    report(&out, &rows, start.elapsed().as_secs_f64() / 60.0)?;
    Ok(())
}

/// Draw the curves and print the summary and the JSON line.
fn report(out: &Path, rows: &[Row], session_min: f64) -> Result<(), Box<dyn std::error::Error>> {
    let race_min = rows.iter().map(|r| r.wall_s).fold(0.0, f64::max) / 60.0;
    plot(&out.join("curves.png"), rows, race_min.max(session_min.min(race_min + 1.0)))?;
    let mut json = serde_json::Map::new();
    let mut winner: Option<(Network, f64)> = None;
    for network in NETWORKS {
        let mine: Vec<&Row> = rows.iter().filter(|r| r.network == network).collect();
        let hit = mine.iter().find(|r| r.score_pred >= TARGET).map(|r| r.wall_s);
        if let Some(t) = hit
            && winner.is_none_or(|(_, w)| t < w)
        {
            winner = Some((network, t));
        }
        let best = mine.iter().map(|r| r.score_pred).fold(f64::NEG_INFINITY, f64::max);
        let last = mine.last().map_or(0.0, |r| r.wall_s / 60.0);
        let name = label(network);
        println!(
            "{name}: {} iterations in {last:.1} min, best score_pred {best:.3}, {}",
            mine.len(),
            hit.map_or(format!("target {TARGET} not reached"), |s| format!(
                "target reached after {:.1} min",
                s / 60.0
            ))
        );
        json.insert(format!("{name}_s_to_target"), hit.into());
        json.insert(format!("{name}_iterations"), mine.len().into());
        json.insert(
            format!("{name}_best_score"),
            if best.is_finite() { best.into() } else { serde_json::Value::Null },
        );
    }
    json.insert("winner".into(), winner.map_or("none", |(n, _)| label(n)).into());
    json.insert("minutes".into(), ((race_min * 10.0).round() / 10.0).into());
    println!(
        "curves: {} and {}",
        out.join("curves.csv").display(),
        out.join("curves.png").display()
    );
    println!("{}", serde_json::Value::Object(json));
    Ok(())
}

/// The tiny race of `cargo test`: one iteration per network, then a resume for a second; the
/// rows equal those of an uninterrupted two-iteration race (but the clocks), and the plot exists.
fn smoke() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::temp_dir().join(format!("ppo-race-smoke-{}", std::process::id()));
    let settings =
        Settings { full: false, seed: 0, lr: 5e-5, epochs: 1, minutes: 10.0, max_iterations: 2 };
    let straight = race(&base.join("straight"), &settings, false)?;
    let cut = base.join("cut");
    let first = race(&cut, &Settings { max_iterations: 1, ..settings.clone() }, false)?;
    assert_eq!(first.len(), 2, "one iteration per network before the cut");
    let resumed = race(&cut, &settings, true)?;
    report(&cut, &resumed, 0.0)?;
    let strip = |rows: &[Row]| -> Vec<(u64, String, u64, u64)> {
        rows.iter()
            .map(|r| {
                (
                    r.iteration,
                    format!("{}:{}", label(r.network), r.score_pred),
                    r.env_steps_total,
                    r.agent_steps,
                )
            })
            .collect()
    };
    assert_eq!(strip(&resumed), strip(&straight), "a resumed race continues as if uninterrupted");
    assert_eq!(resumed.len(), 4);
    assert!(cut.join("curves.png").metadata()?.len() > 1000);
    let csv = |rows: &[Row]| rows.iter().map(Row::csv).collect::<Vec<_>>();
    let mut back = read_rows(&cut.join("curves.csv"))?;
    sort_rows(&mut back);
    assert_eq!(csv(&back), csv(&resumed), "curves.csv reads back");
    std::fs::remove_dir_all(&base)?;
    Ok(())
}
