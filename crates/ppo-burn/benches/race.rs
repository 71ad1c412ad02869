//! Which network reaches `score_pred >= 1.0` first in wall time: the MLP and the conv network
//! train side by side on predator-prey-grass with the reference hyperparameters (lr 1.1e-4,
//! 26 epochs, 1024 env steps per iteration, 3 env runners), each trial pinned to its own core,
//! until one reaches the target or the time budget runs out.
//!
//! `cargo xtask bench ppo-race [-- --minutes 60 --seed 0 --epochs 26 --lr 1.1e-4 --out DIR]`;
//! `cargo xtask bench ppo-race -- --replot DIR` redraws `DIR/curves.png` from `DIR/curves.csv`.
//! Every iteration of both runs is appended to `DIR/curves.csv` as it finishes (default: the
//! workspace's `target/ppo-race`); at the end `DIR/curves.png` plots `score_pred` against wall time for both.
//! A run still inside an iteration when the budget ends is cut there (its partial iteration is
//! not counted). Without `--bench` (as `cargo test --all-targets` runs it) a tiny configuration
//! runs two iterations per network into a temporary folder.
//! Last line: `{"winner", "mlp_s_to_target", "conv_s_to_target", "mlp_iterations",
//! "conv_iterations", "mlp_best_score", "conv_best_score", "minutes"}`.

mod common;

use common::arg;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, unbounded};
use marl_env::PpgConfig;
use plotters::prelude::*;
use ppo_burn::{EnvSpec, Network, PpoConfig, Trainer};

const TARGET: f64 = 1.0;
const NETWORKS: [Network; 2] = [Network::Mlp, Network::Conv];

fn label(network: Network) -> &'static str {
    match network {
        Network::Mlp => "mlp",
        Network::Conv => "conv",
    }
}

/// One finished iteration of one run.
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

enum Msg {
    Row(Row),
    Done(Network, Result<(), String>),
}

/// One run of the race.
struct Run {
    network: Network,
    config: PpoConfig,
    env: EnvSpec,
    seed: u64,
    core: Option<usize>,
    start: Instant,
    deadline: Instant,
    max_iterations: u64,
}

/// Trains until the target, the deadline or `max_iterations`, sending every iteration.
fn race_one(run: Run, tx: &Sender<Msg>) -> Result<(), String> {
    let config = PpoConfig { network: run.network, ..run.config };
    let mut trainer: Trainer = Trainer::new(config, run.env, run.seed, run.core.map(|c| vec![c]))
        .map_err(|e| e.to_string())?;
    loop {
        let m = trainer.train_iteration().map_err(|e| e.to_string())?;
        let row = Row {
            network: run.network,
            iteration: m.training_iteration,
            wall_s: run.start.elapsed().as_secs_f64(),
            score_pred: m.score_pred,
            predator_return: m.predator_return,
            env_steps_total: m.env_steps_total,
            agent_steps: m.agent_steps,
            sample_s: m.sample_seconds,
            learn_s: m.learn_seconds,
        };
        let done = row.score_pred >= TARGET || row.iteration >= run.max_iterations;
        if tx.send(Msg::Row(row)).is_err() || done || Instant::now() >= run.deadline {
            return Ok(());
        }
    }
}

fn plot(path: &Path, rows: &[Row], minutes: f64) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(path, (1100, 650)).into_drawing_area();
    root.fill(&WHITE)?;
    let y_max = rows.iter().map(|r| r.score_pred).fold(TARGET, f64::max) * 1.1;
    let y_min = rows.iter().map(|r| r.score_pred).fold(0.0, f64::min);
    let mut chart = ChartBuilder::on(&root)
        .caption("score_pred against wall time (each run on its own core)", ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..minutes.max(1e-3), y_min..y_max)?;
    chart.configure_mesh().x_desc("wall time (minutes)").y_desc("score_pred").draw()?;
    chart
        .draw_series(LineSeries::new([(0.0, TARGET), (minutes, TARGET)], BLACK.stroke_width(1)))?
        .label(format!("target {TARGET}"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
    for (network, color) in [(Network::Mlp, BLUE), (Network::Conv, RED)] {
        let points: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.network == network)
            .map(|r| (r.wall_s / 60.0, r.score_pred))
            .collect();
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
    root.present()?;
    Ok(())
}

/// The rows of a `curves.csv` written by an earlier race (columns by name).
fn read_rows(path: &Path) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty curves.csv")?.split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let mut rows = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let get = |name: &str| -> f64 {
            col(name).and_then(|i| f.get(i)).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
        };
        let network = match f.first() {
            Some(&"mlp") => Network::Mlp,
            Some(&"conv") => Network::Conv,
            other => return Err(format!("{}: unknown network {other:?}", path.display()).into()),
        };
        rows.push(Row {
            network,
            iteration: get("iteration") as u64,
            wall_s: get("wall_s"),
            score_pred: get("score_pred"),
            predator_return: get("predator_return"),
            env_steps_total: get("env_steps_total") as u64,
            agent_steps: get("agent_steps").max(0.0) as u64,
            sample_s: get("sample_s"),
            learn_s: get("learn_s"),
        });
    }
    Ok(rows)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    // `--replot DIR`: redraw DIR/curves.png from DIR/curves.csv and stop.
    if let Some(dir) = arg::<PathBuf>(&args, "--replot") {
        let rows = read_rows(&dir.join("curves.csv"))?;
        let minutes = rows.iter().map(|r| r.wall_s).fold(0.0, f64::max) / 60.0;
        plot(&dir.join("curves.png"), &rows, minutes.ceil())?;
        println!("{} rows -> {}", rows.len(), dir.join("curves.png").display());
        return Ok(());
    }
    let full = args.iter().any(|a| a == "--bench");
    let seed: u64 = arg(&args, "--seed").unwrap_or(0);
    let (config, env, minutes, max_iterations, out) = if full {
        let config = PpoConfig {
            lr: arg(&args, "--lr").unwrap_or(1.1e-4),
            num_epochs: arg(&args, "--epochs").unwrap_or(26),
            ..PpoConfig::default()
        };
        // The workspace's target folder (a bench runs in its package's folder).
        let default_out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ppo-race");
        let out = arg::<PathBuf>(&args, "--out").unwrap_or(default_out);
        let minutes: f64 = arg(&args, "--minutes").unwrap_or(60.0);
        (config, EnvSpec::PredPreyGrass(PpgConfig::default()), minutes, u64::MAX, out)
    } else {
        println!("tiny run (pass --bench for the race on the reference configuration)");
        let config = PpoConfig {
            train_batch_size: 24,
            minibatch_size: 32,
            num_epochs: 1,
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
        let out = std::env::temp_dir().join(format!("ppo-race-smoke-{}", std::process::id()));
        (config, EnvSpec::PredPreyGrass(env), 10.0, 2, out)
    };
    std::fs::create_dir_all(&out)?;
    let csv_path = out.join("curves.csv");
    let mut csv = File::create(&csv_path)?;
    writeln!(
        csv,
        "network,iteration,wall_s,score_pred,predator_return,env_steps_total,agent_steps,sample_s,learn_s"
    )?;

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
        "race: mlp on core {:?}, conv on core {:?}; lr {}, {} epochs, seed {seed}, budget {minutes} min; rows -> {}",
        placement[0],
        placement[1],
        config.lr,
        config.num_epochs,
        csv_path.display()
    );

    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(minutes * 60.0);
    let (tx, rx) = unbounded();
    for (network, core) in NETWORKS.into_iter().zip(placement) {
        let run = Run {
            network,
            config: config.clone(),
            env: env.clone(),
            seed,
            core,
            start,
            deadline,
            max_iterations,
        };
        let tx = tx.clone();
        std::thread::spawn(move || {
            let result = race_one(run, &tx);
            let _ = tx.send(Msg::Done(network, result));
        });
    }
    drop(tx);

    let mut rows: Vec<Row> = Vec::new();
    let mut running = NETWORKS.len();
    let mut first_hit: Option<(Network, f64)> = None;
    while running > 0 {
        let wait = deadline.saturating_duration_since(Instant::now());
        let msg = match rx.recv_timeout(wait) {
            Ok(msg) => msg,
            // The budget is over: whatever is mid-iteration is cut.
            Err(_) => break,
        };
        match msg {
            Msg::Row(r) => {
                writeln!(
                    csv,
                    "{},{},{:.3},{},{},{},{},{:.3},{:.3}",
                    label(r.network),
                    r.iteration,
                    r.wall_s,
                    r.score_pred,
                    r.predator_return,
                    r.env_steps_total,
                    r.agent_steps,
                    r.sample_s,
                    r.learn_s
                )?;
                csv.flush()?;
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
                if r.score_pred >= TARGET && first_hit.is_none() {
                    first_hit = Some((r.network, r.wall_s));
                    println!("{} reached score_pred >= {TARGET} first", label(r.network));
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
    let elapsed_min = start.elapsed().as_secs_f64() / 60.0;
    plot(&out.join("curves.png"), &rows, elapsed_min)?;

    let mut json = serde_json::Map::new();
    json.insert("winner".into(), first_hit.map_or("none", |(n, _)| label(n)).into());
    for network in NETWORKS {
        let mine: Vec<&Row> = rows.iter().filter(|r| r.network == network).collect();
        let hit = mine.iter().find(|r| r.score_pred >= TARGET).map(|r| r.wall_s);
        let best = mine.iter().map(|r| r.score_pred).fold(f64::NEG_INFINITY, f64::max);
        let name = label(network);
        println!(
            "{name}: {} iterations in {elapsed_min:.1} min, best score_pred {best:.3}, {}",
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
    json.insert("minutes".into(), ((elapsed_min * 10.0).round() / 10.0).into());
    println!("curves: {} and {}", csv_path.display(), out.join("curves.png").display());
    if !full {
        // The smoke run must have produced both curves and the plot.
        for network in NETWORKS {
            let n = rows.iter().filter(|r| r.network == network).count();
            assert_eq!(n as u64, max_iterations, "{} iterations of {}", n, label(network));
        }
        assert!(out.join("curves.png").metadata()?.len() > 1000);
        let back = read_rows(&csv_path)?;
        assert_eq!(back.len(), rows.len(), "curves.csv reads back");
        std::fs::remove_dir_all(&out)?;
    }
    println!("{}", serde_json::Value::Object(json));
    // A run cut mid-iteration still holds its thread: leave without waiting for it.
    std::process::exit(0)
}
