//! The summary table: trials by stop reason, the best trial, hits, and the iterations that early
//! stopping saved compared with running every trial to `max_iters`. One [`Summary`] value feeds
//! both the text (stdout) and the HTML table, so they always agree.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::study::{Mode, Study, StudyState, TrialStatus};

/// One row of the by-reason table.
#[derive(Debug, Clone, PartialEq)]
pub struct ReasonRow {
    /// The stop reason, or `running`.
    pub reason: String,
    /// Trials that ended so (or are running).
    pub trials: usize,
    /// Iterations they ran, summed.
    pub iterations: u64,
    /// `max_iters - iterations`, summed (None for running trials or when max_iters is unknown).
    pub saved: Option<u64>,
}

/// The best trial: the best metric value over its iterations (max or min by the study's mode);
/// on an exact tie, the lowest trial number ([`Study::best`]).
#[derive(Debug, Clone, PartialEq)]
pub struct BestTrial {
    /// Trial name.
    pub name: String,
    /// Its best value and the iteration of it.
    pub best: (u64, f64),
    /// Its last value and iteration.
    pub last: Option<(u64, f64)>,
    /// Its status label (reason or `running`).
    pub status: String,
    /// Its parameters, as text.
    pub params: Vec<(String, String)>,
}

/// Iterations saved by early stopping, over the trials that ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Savings {
    /// `[stoppers.max_iters] max_iters` (or the scheduler's `max_t`).
    pub max_iters: u64,
    /// Trials that ended.
    pub trials: usize,
    /// Iterations they ran.
    pub ran: u64,
    /// `trials * max_iters`.
    pub full: u64,
    /// `sum(max_iters - iterations)` (trials past max_iters count 0).
    pub saved: u64,
}

impl Savings {
    /// `saved / full` in percent (0 when `full` is 0).
    pub fn percent(&self) -> f64 {
        if self.full == 0 { 0.0 } else { 100.0 * self.saved as f64 / self.full as f64 }
    }
}

/// What the report says about a study, as values.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Running, finished, interrupted or unknown.
    pub state: StudyState,
    /// The metric.
    pub metric: String,
    /// Its mode.
    pub mode: Mode,
    /// The hit threshold.
    pub hit_threshold: f64,
    /// `num_samples` of the journal's `study_started`, else of the config.
    pub num_samples: Option<u64>,
    /// Trials seen.
    pub trials: usize,
    /// Trials ended.
    pub ended: usize,
    /// Trials running.
    pub running: usize,
    /// Resumes of the study.
    pub resumes: usize,
    /// Wall time the study ran, seconds: the sum over its runs of (last event -
    /// `study_started`), without the idle gaps between runs of a resumed study.
    pub wall_time_s: Option<f64>,
    /// Runs of the study (`study_started` events; 0 without a journal).
    pub runs: usize,
    /// Core groups (lanes).
    pub groups: usize,
    /// Trials at once.
    pub max_concurrent: Option<usize>,
    /// By reason, in name order, `running` last.
    pub by_reason: Vec<ReasonRow>,
    /// The best trial, if any has a finite value.
    pub best: Option<BestTrial>,
    /// Each trial's first hit of the threshold: (name, iteration), in trial order.
    pub hits: Vec<(String, u64)>,
    /// Savings, when max_iters is known and a trial ended.
    pub savings: Option<Savings>,
    /// The errors of trials that ended with one: (name, message), in trial order.
    pub errors: Vec<(String, String)>,
    /// Notes from reading the folder.
    pub notes: Vec<String>,
}

/// A number for people: up to 4 decimals (trailing zeros trimmed), or scientific notation for
/// very small or large values; `nan` for NaN.
pub fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        return format!("{x:.3e}");
    }
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_string() } else { s.to_string() }
}

/// A parameter value as text.
pub fn fmt_param(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => n.as_f64().map_or(n.to_string(), fmt_num),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A duration for people: `1h 02m`, `3m 20s`, `12.5s`.
pub fn fmt_duration(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "?".to_string();
    }
    if s < 60.0 {
        return format!("{s:.1}s");
    }
    let total = s.round() as u64;
    let (h, m, sec) = (total / 3600, (total % 3600) / 60, total % 60);
    if h > 0 { format!("{h}h {m:02}m") } else { format!("{m}m {sec:02}s") }
}

/// Summarise a study.
pub fn summarize(study: &Study) -> Summary {
    let cfg = &study.config;
    let full = cfg.full_iterations();
    let mut by: BTreeMap<String, ReasonRow> = BTreeMap::new();
    let mut running = ReasonRow { reason: "running".into(), trials: 0, iterations: 0, saved: None };
    let mut savings = full.map(|m| Savings { max_iters: m, trials: 0, ran: 0, full: 0, saved: 0 });
    for t in study.trials.values() {
        match &t.status {
            TrialStatus::Running => {
                running.trials += 1;
                running.iterations += t.iterations;
            }
            TrialStatus::Ended { reason, .. } => {
                let row = by.entry(reason.clone()).or_insert_with(|| ReasonRow {
                    reason: reason.clone(),
                    trials: 0,
                    iterations: 0,
                    saved: full.map(|_| 0),
                });
                row.trials += 1;
                row.iterations += t.iterations;
                if let (Some(m), Some(saved)) = (full, row.saved.as_mut()) {
                    *saved += m.saturating_sub(t.iterations);
                }
                if let Some(s) = savings.as_mut() {
                    s.trials += 1;
                    s.ran += t.iterations;
                    s.full += s.max_iters;
                    s.saved += s.max_iters.saturating_sub(t.iterations);
                }
            }
        }
    }
    let ended: usize = by.values().map(|r| r.trials).sum();
    let mut by_reason: Vec<ReasonRow> = by.into_values().collect();
    if running.trials > 0 {
        by_reason.push(running.clone());
    }
    let best = study.best().map(|(t, b)| BestTrial {
        name: t.name.clone(),
        best: b,
        last: t.last(),
        status: t.status.label().to_string(),
        params: t.params.iter().map(|(k, v)| (k.clone(), fmt_param(v))).collect(),
    });
    let hits = study
        .trials
        .values()
        .filter_map(|t| {
            t.first_hit(cfg.mode, cfg.hit_threshold).map(|(it, _)| (t.name.clone(), it))
        })
        .collect();
    let errors = study
        .trials
        .values()
        .filter_map(|t| match &t.status {
            TrialStatus::Ended { error: Some(e), .. } => Some((t.name.clone(), e.clone())),
            _ => None,
        })
        .collect();
    let lanes = study
        .trials
        .values()
        .flat_map(|t| t.segments.iter().map(|s| s.group + 1))
        .max()
        .unwrap_or(0)
        .max(study.groups.len());
    Summary {
        state: study.state,
        metric: cfg.metric.clone(),
        mode: cfg.mode,
        hit_threshold: cfg.hit_threshold,
        num_samples: study.num_samples.or(cfg.num_samples),
        trials: study.trials.len(),
        ended,
        running: running.trials,
        resumes: study.resumes,
        wall_time_s: study.wall_time_s(),
        runs: study.runs.len(),
        groups: lanes,
        max_concurrent: study.max_concurrent,
        by_reason,
        best,
        hits,
        savings: savings.filter(|s| s.trials > 0),
        errors,
        notes: study.notes.clone(),
    }
}

impl Summary {
    /// The headline: state and trial counts.
    pub fn headline(&self) -> String {
        let of = self.num_samples.map(|n| format!(" of {n}")).unwrap_or_default();
        let resumes = match self.resumes {
            0 => String::new(),
            1 => ", resumed once".to_string(),
            n => format!(", resumed {n} times"),
        };
        format!(
            "study {}: {}{} trials, {} ended, {} running{}",
            self.state.as_str(),
            self.trials,
            of,
            self.ended,
            self.running,
            resumes
        )
    }

    /// The metric line.
    pub fn metric_line(&self) -> String {
        format!(
            "metric: {} ({}), hit threshold {}",
            self.metric,
            self.mode.as_str(),
            fmt_num(self.hit_threshold)
        )
    }

    /// The wall-time line, if the journal gave times.
    pub fn wall_line(&self) -> Option<String> {
        let w = self.wall_time_s?;
        let at_once =
            self.max_concurrent.map(|m| format!(", up to {m} trials at once")).unwrap_or_default();
        let runs = if self.runs > 1 {
            format!(" over {} runs (the idle time between runs not counted)", self.runs)
        } else {
            String::new()
        };
        Some(format!(
            "wall time: {}{runs}, {} core group(s){at_once}",
            fmt_duration(w),
            self.groups
        ))
    }

    /// The best-trial lines (without the parameters).
    pub fn best_lines(&self) -> Vec<String> {
        let Some(b) = &self.best else {
            return vec![format!("best trial: none yet (no finite {} value)", self.metric)];
        };
        let mut out = vec![format!(
            "best trial: {} (best {} over its iterations, mode {})",
            b.name,
            self.metric,
            self.mode.as_str()
        )];
        out.push(format!("  best {} at iteration {}", fmt_num(b.best.1), b.best.0));
        if let Some((it, v)) = b.last {
            out.push(format!("  last {} at iteration {} ({})", fmt_num(v), it, b.status));
        }
        out
    }

    /// The hits line.
    pub fn hits_line(&self) -> String {
        let cmp = match self.mode {
            Mode::Max => ">=",
            Mode::Min => "<=",
        };
        let head = format!("hits ({} {} {})", self.metric, cmp, fmt_num(self.hit_threshold));
        if self.hits.is_empty() {
            return format!("{head}: none");
        }
        let list: Vec<String> =
            self.hits.iter().map(|(n, it)| format!("{n} at iteration {it}")).collect();
        format!("{head}: {} trial(s): {}", self.hits.len(), list.join(", "))
    }

    /// The early-stopping line.
    pub fn savings_line(&self) -> String {
        match &self.savings {
            Some(s) => format!(
                "early stopping: {} of {} iterations run ({} ended trials x max_iters {}); saved {} ({:.1}%)",
                s.ran,
                s.full,
                s.trials,
                s.max_iters,
                s.saved,
                s.percent()
            ),
            None if self.ended == 0 => "early stopping: no trial has ended yet".to_string(),
            None => "early stopping: unknown (no [stoppers.max_iters] max_iters nor [scheduler] max_t in config.toml)".to_string(),
        }
    }

    /// One line per trial error.
    pub fn error_lines(&self) -> Vec<String> {
        self.errors.iter().map(|(n, e)| format!("error in {n}: {e}")).collect()
    }

    /// The by-reason table as rows of cells, header first, total last.
    pub fn reason_table(&self) -> Vec<[String; 4]> {
        let mut rows = vec![[
            "reason".to_string(),
            "trials".to_string(),
            "iterations run".to_string(),
            "saved vs max_iters".to_string(),
        ]];
        let dash = || "-".to_string();
        for r in &self.by_reason {
            rows.push([
                r.reason.clone(),
                r.trials.to_string(),
                r.iterations.to_string(),
                r.saved.map_or_else(dash, |s| s.to_string()),
            ]);
        }
        let iters: u64 = self.by_reason.iter().map(|r| r.iterations).sum();
        rows.push([
            "total".to_string(),
            self.trials.to_string(),
            iters.to_string(),
            self.savings.as_ref().map_or_else(dash, |s| s.saved.to_string()),
        ]);
        rows
    }

    /// The whole summary as plain text (what `hpo report` prints).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.headline());
        let _ = writeln!(out, "{}", self.metric_line());
        if let Some(w) = self.wall_line() {
            let _ = writeln!(out, "{w}");
        }
        out.push('\n');
        if self.trials == 0 {
            let _ = writeln!(out, "no trials yet");
        } else {
            let table = self.reason_table();
            let widths: Vec<usize> =
                (0..4).map(|c| table.iter().map(|r| r[c].len()).max().unwrap_or(0)).collect();
            for row in &table {
                let _ = writeln!(
                    out,
                    "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}",
                    row[0],
                    row[1],
                    row[2],
                    row[3],
                    w0 = widths[0],
                    w1 = widths[1],
                    w2 = widths[2],
                    w3 = widths[3]
                );
            }
            out.push('\n');
            for l in self.best_lines() {
                let _ = writeln!(out, "{l}");
            }
            if let Some(b) = &self.best
                && !b.params.is_empty()
            {
                let ps: Vec<String> = b.params.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                let _ = writeln!(out, "  {}", ps.join(", "));
            }
            let _ = writeln!(out, "{}", self.hits_line());
            let _ = writeln!(out, "{}", self.savings_line());
            for l in self.error_lines() {
                let _ = writeln!(out, "{l}");
            }
        }
        if !self.notes.is_empty() {
            let _ = writeln!(out, "\nnotes:");
            for n in &self.notes {
                let _ = writeln!(out, "  - {n}");
            }
        }
        out
    }
}
