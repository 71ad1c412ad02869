//! The three plots, drawn with plotters on any backend (PNG through an RGB buffer encoded by the
//! `image` crate, SVG as a string): learning curves, parameters against the score, and the
//! timeline of trials on their core groups. Empty or partial studies draw a message instead of
//! failing.

use std::collections::BTreeMap;
use std::io::Cursor;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::ReportError;
use crate::study::{Mode, ParamKind, Study, Trial, TrialStatus};
use crate::summary::fmt_num;

/// Pixel size of `curves.png` / `curves.svg`.
pub const CURVES_SIZE: (u32, u32) = (1200, 700);
/// Pixel size of `params.png`.
pub const PARAMS_SIZE: (u32, u32) = (1200, 800);
/// Pixel size of `timeline.png`.
pub const TIMELINE_SIZE: (u32, u32) = (1200, 600);

const FONT: &str = "sans-serif";
/// The most lanes the timeline draws.
const MAX_LANES: usize = 64;

/// One of the report's plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plot {
    /// The metric per iteration for every trial, coloured by stop reason.
    Curves,
    /// Each parameter against the best score; two numeric parameters against each other.
    Params,
    /// Trials over wall time, one lane per core group.
    Timeline,
}

impl Plot {
    /// Every plot, in report order.
    pub const ALL: [Plot; 3] = [Plot::Curves, Plot::Params, Plot::Timeline];

    /// Its pixel size.
    pub fn size(self) -> (u32, u32) {
        match self {
            Plot::Curves => CURVES_SIZE,
            Plot::Params => PARAMS_SIZE,
            Plot::Timeline => TIMELINE_SIZE,
        }
    }

    /// Its file stem (`curves`, `params`, `timeline`).
    pub fn stem(self) -> &'static str {
        match self {
            Plot::Curves => "curves",
            Plot::Params => "params",
            Plot::Timeline => "timeline",
        }
    }
}

/// A drawing failure, as text (plotters' errors are generic over the backend).
#[derive(Debug)]
pub(crate) struct PlotError(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        PlotError(e.to_string())
    }
}

type PResult = Result<(), PlotError>;
type Area<DB> = DrawingArea<DB, Shift>;

/// The known stop reasons in legend order, then `running`.
const REASON_ORDER: [&str; 8] = [
    "completed",
    "max_iters",
    "asha_early_stop",
    "plateau",
    "drop",
    "error",
    "interrupted",
    "running",
];

/// The colour of a stop reason (`running` has its own; unknown reasons are brown).
pub fn reason_color(reason: &str) -> RGBColor {
    match reason {
        "completed" => RGBColor(44, 160, 44),
        "max_iters" => RGBColor(0, 110, 60),
        "asha_early_stop" => RGBColor(255, 127, 14),
        "plateau" => RGBColor(31, 119, 180),
        "drop" => RGBColor(148, 103, 189),
        "error" => RGBColor(214, 39, 40),
        "interrupted" => RGBColor(127, 127, 127),
        "running" => RGBColor(20, 20, 20),
        _ => RGBColor(140, 86, 75),
    }
}

/// The reasons present among `trials`, in legend order, with their counts.
fn reasons_present<'a>(trials: impl Iterator<Item = &'a Trial>) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for t in trials {
        *counts.entry(t.status.label().to_string()).or_default() += 1;
    }
    let rank = |r: &str| REASON_ORDER.iter().position(|k| *k == r).unwrap_or(REASON_ORDER.len());
    let mut v: Vec<(String, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| rank(&a.0).cmp(&rank(&b.0)).then(a.0.cmp(&b.0)));
    v
}

/// Draw a reason's marker: filled circle (ran to the end), triangle (ASHA), square (plateau,
/// drop), cross (error, interrupted), open circle (running).
fn draw_marker<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    reason: &str,
    size: i32,
) -> PResult {
    let c = reason_color(reason);
    let at = EmptyElement::at(at);
    match reason {
        "asha_early_stop" => {
            area.draw(&(at + TriangleMarker::new((0, 0), size + 1, c.filled())))?
        }
        "plateau" | "drop" => {
            area.draw(&(at + Rectangle::new([(-size, -size), (size, size)], c.filled())))?;
        }
        "error" | "interrupted" => {
            area.draw(&(at + Cross::new((0, 0), size + 1, c.stroke_width(3))))?;
        }
        "running" => area.draw(&(at + Circle::new((0, 0), size, c.stroke_width(2))))?,
        _ => area.draw(&(at + Circle::new((0, 0), size, c.filled())))?,
    }
    Ok(())
}

fn message<DB: DrawingBackend>(area: &Area<DB>, title: &str, text: &str) -> PResult {
    area.fill(&WHITE)?;
    let (w, h) = area.dim_in_pixel();
    let center = Pos::new(HPos::Center, VPos::Center);
    area.draw_text(
        title,
        &(FONT, 24).into_font().color(&BLACK).pos(center),
        (w as i32 / 2, h as i32 / 2 - 20),
    )?;
    area.draw_text(
        text,
        &(FONT, 18).into_font().color(&RGBColor(90, 90, 90)).pos(center),
        (w as i32 / 2, h as i32 / 2 + 15),
    )?;
    Ok(())
}

/// A title line and, under it, a centred legend of the reasons' markers and counts.
fn header<DB: DrawingBackend>(
    area: &Area<DB>,
    title: &str,
    reasons: &[(String, usize)],
) -> PResult {
    let (w, _) = area.dim_in_pixel();
    let w = w as i32;
    area.draw_text(
        title,
        &TextStyle::from((FONT, 22).into_font()).pos(Pos::new(HPos::Center, VPos::Center)),
        (w / 2, 18),
    )?;
    let style = TextStyle::from((FONT, 15).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let items: Vec<(String, String, i32)> = reasons
        .iter()
        .map(|(r, n)| {
            let label = format!("{r} ({n})");
            let tw =
                area.estimate_text_size(&label, &style).map_or(8 * label.len() as u32, |s| s.0);
            (r.clone(), label, tw as i32 + 40)
        })
        .collect();
    let total: i32 = items.iter().map(|i| i.2).sum();
    let mut x = (w - total) / 2;
    for (reason, label, width) in items {
        draw_marker(area, (x + 8, 46), &reason, 6)?;
        area.draw_text(&label, &style, (x + 20, 46))?;
        x += width;
    }
    Ok(())
}

/// `lo..hi` widened by `frac` on each side; a point range becomes a unit-ish range.
fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi - lo <= f64::EPSILON * lo.abs().max(1.0) {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d, hi + d);
    }
    let d = (hi - lo) * frac;
    (lo - d, hi + d)
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.filter(|v| v.is_finite()).fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((a, b)) => Some((a.min(v), b.max(v))),
    })
}

/// Draw `plot` of `study` on `root`.
pub(crate) fn draw<DB: DrawingBackend>(plot: Plot, root: &Area<DB>, study: &Study) -> PResult {
    root.fill(&WHITE)?;
    match plot {
        Plot::Curves => draw_curves(root, study),
        Plot::Params => draw_params(root, study),
        Plot::Timeline => draw_timeline(root, study),
    }?;
    root.present()?;
    Ok(())
}

/// Render `plot` as PNG bytes of [`Plot::size`].
pub fn render_png(plot: Plot, study: &Study) -> Result<Vec<u8>, ReportError> {
    let (w, h) = plot.size();
    let file = format!("{}.png", plot.stem());
    let mut buf = vec![255u8; (w as usize) * (h as usize) * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        draw(plot, &root, study)
            .map_err(|e| ReportError::Plot { file: file.clone(), message: e.0 })?;
    }
    let img = image::RgbImage::from_raw(w, h, buf).ok_or_else(|| ReportError::Plot {
        file: file.clone(),
        message: "the pixel buffer does not match the image size".into(),
    })?;
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| ReportError::Plot { file, message: e.to_string() })?;
    Ok(out.into_inner())
}

/// Render `plot` as an SVG document of [`Plot::size`].
pub fn render_svg(plot: Plot, study: &Study) -> Result<String, ReportError> {
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, plot.size()).into_drawing_area();
        draw(plot, &root, study).map_err(|e| ReportError::Plot {
            file: format!("{}.svg", plot.stem()),
            message: e.0,
        })?;
    }
    Ok(s)
}

// ---------------------------------------------------------------- curves

/// The curves plot's y margin, as a fraction of the span, on each side.
const Y_MARGIN: f64 = 0.05;
/// How far beyond the data the hit threshold may lie, as a fraction of the data's span, and
/// still be drawn (the y range then stretches to it).
const THRESHOLD_REACH: f64 = 0.25;

/// Where the curves plot puts the hit threshold.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdMark {
    /// Inside the y range: drawn as a line.
    Line,
    /// Above the y range (too far above the data): only named in the legend.
    Above,
    /// Below the y range: only named in the legend.
    Below,
    /// Not a finite number: not shown.
    Absent,
}

/// The y range of the curves plot and where the hit threshold stands in it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvesYRange {
    /// Bottom of the axis.
    pub y0: f64,
    /// Top of the axis.
    pub y1: f64,
    /// Where the hit threshold is.
    pub threshold: ThresholdMark,
}

impl CurvesYRange {
    /// The legend's words for the hit threshold `thr` (None when it is not shown).
    pub fn threshold_label(&self, thr: f64) -> Option<String> {
        let t = fmt_num(thr);
        match self.threshold {
            ThresholdMark::Line => Some(format!("hit threshold {t}")),
            ThresholdMark::Above => Some(format!("hit threshold {t} (above the chart)")),
            ThresholdMark::Below => Some(format!("hit threshold {t} (below the chart)")),
            ThresholdMark::Absent => None,
        }
    }
}

/// The curves plot's y range for finite data in `lo..=hi` and the hit threshold `thr`: the
/// data's range with a small margin, stretched to the threshold only when it lies within
/// [`THRESHOLD_REACH`] of the data's span beyond the data (a threshold far away would squash
/// the curves into a flat line); else the threshold is off the chart.
#[doc(hidden)]
pub fn curves_y_range(lo: f64, hi: f64, thr: f64) -> CurvesYRange {
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let (d0, d1) = padded(lo, hi, Y_MARGIN);
    if !thr.is_finite() {
        return CurvesYRange { y0: d0, y1: d1, threshold: ThresholdMark::Absent };
    }
    // A flat curve has no span: measure the reach on the padded range instead.
    let span = if hi - lo > f64::EPSILON * lo.abs().max(1.0) { hi - lo } else { d1 - d0 };
    let reach = THRESHOLD_REACH * span;
    if thr > hi + reach {
        CurvesYRange { y0: d0, y1: d1, threshold: ThresholdMark::Above }
    } else if thr < lo - reach {
        CurvesYRange { y0: d0, y1: d1, threshold: ThresholdMark::Below }
    } else if (lo..=hi).contains(&thr) {
        CurvesYRange { y0: d0, y1: d1, threshold: ThresholdMark::Line }
    } else {
        let (y0, y1) = padded(lo.min(thr), hi.max(thr), Y_MARGIN);
        CurvesYRange { y0, y1, threshold: ThresholdMark::Line }
    }
}

/// The curves plot's y range for `study`, None when no trial has a finite value.
pub(crate) fn study_curves_y_range(study: &Study) -> Option<CurvesYRange> {
    let (lo, hi) = min_max(study.trials.values().flat_map(|t| t.curve.iter().map(|p| p.1)))?;
    Some(curves_y_range(lo, hi, study.config.hit_threshold))
}

fn draw_curves<DB: DrawingBackend>(root: &Area<DB>, study: &Study) -> PResult {
    let cfg = &study.config;
    let metric = cfg.metric.as_str();
    let title = format!("{metric} per iteration, by stop reason");
    let x_max = study.trials.values().flat_map(|t| t.curve.iter().map(|p| p.0)).max().unwrap_or(0);
    let Some(range) = study_curves_y_range(study) else {
        let text = if study.trials.is_empty() {
            "no trials yet".to_string()
        } else {
            format!("no finite {metric} value reported yet")
        };
        return message(root, &title, &text);
    };
    let (y0, y1) = (range.y0, range.y1);
    let x1 = (x_max.max(1) as f64) * 1.03;
    let mut chart = ChartBuilder::on(root)
        .caption(&title, (FONT, 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc("iteration")
        .y_desc(metric)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .y_label_formatter(&|v| fmt_num(*v))
        .x_label_formatter(&|v| fmt_num(*v))
        .draw()?;

    // ASHA rungs and the hit threshold, under the curves.
    let grey = RGBColor(150, 150, 150);
    if let Some(asha) = &cfg.asha {
        let mut first = true;
        for m in asha.milestones().into_iter().filter(|m| *m <= x1) {
            let s = chart.draw_series(DashedLineSeries::new(
                vec![(m, y0), (m, y1)],
                6,
                4,
                grey.stroke_width(2),
            ))?;
            if first {
                s.label("ASHA rung milestone").legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(2))
                });
                first = false;
            }
            chart.draw_series(std::iter::once(
                EmptyElement::at((m, y1))
                    + Text::new(
                        format!("rung {}", fmt_num(m)),
                        (5, 3),
                        (FONT, 13).into_font().color(&grey),
                    ),
            ))?;
        }
    }
    let thr = cfg.hit_threshold;
    if let Some(label) = range.threshold_label(thr) {
        let red = RGBColor(200, 0, 0);
        let line = if range.threshold == ThresholdMark::Line {
            vec![(0.0, thr), (x1, thr)]
        } else {
            // Off the chart: only its legend entry, which says so.
            Vec::new()
        };
        chart
            .draw_series(DashedLineSeries::new(line, 10, 5, red.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], red.stroke_width(2)));
    }

    // The curves, broken at NaN values.
    for t in study.trials.values() {
        let reason = t.status.label();
        let color = reason_color(reason);
        let width = if t.status == TrialStatus::Running { 3 } else { 2 };
        for run in t.curve.split(|p| !p.1.is_finite()).filter(|r| !r.is_empty()) {
            let pts: Vec<(f64, f64)> = run.iter().map(|&(i, v)| (i as f64, v)).collect();
            if pts.len() == 1 {
                chart.draw_series(std::iter::once(Circle::new(pts[0], 2, color.filled())))?;
            } else {
                chart.draw_series(LineSeries::new(pts, color.mix(0.85).stroke_width(width)))?;
            }
        }
    }
    // Where each trial ended, with its reason's marker.
    for t in study.trials.values() {
        if let Some(&(i, v)) = t.curve.iter().rev().find(|p| p.1.is_finite()) {
            draw_marker(chart.plotting_area(), (i as f64, v), t.status.label(), 5)?;
        }
    }
    // The best trial.
    if let Some((t, (i, v))) = study.best() {
        let at = (i as f64, v);
        chart.draw_series(std::iter::once(Circle::new(at, 10, BLACK.stroke_width(2))))?;
        chart.draw_series(std::iter::once(
            EmptyElement::at(at)
                + Text::new(
                    format!("best: {} ({})", t.name, fmt_num(v)),
                    (-14, -14),
                    TextStyle::from((FONT, 15).into_font())
                        .pos(Pos::new(HPos::Right, VPos::Bottom)),
                ),
        ))?;
    }
    // Legend: one entry per reason present.
    for (reason, n) in reasons_present(study.trials.values()) {
        let c = reason_color(&reason);
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label(format!("{reason} ({n})"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(match cfg.mode {
            Mode::Max => SeriesLabelPosition::LowerRight,
            Mode::Min => SeriesLabelPosition::UpperRight,
        })
        .draw()?;
    Ok(())
}

// ---------------------------------------------------------------- params

/// How a parameter is drawn.
#[derive(Debug, Clone)]
enum Axis {
    /// Numeric values (log10 of them when `log`).
    Numeric { log: bool },
    /// Categories, at x = 0, 1, ...
    Categories(Vec<String>),
}

impl Axis {
    fn position(&self, v: &serde_json::Value) -> Option<f64> {
        match self {
            Axis::Numeric { log } => {
                let x = v.as_f64()?;
                if *log { (x > 0.0).then(|| x.log10()) } else { Some(x) }
            }
            Axis::Categories(cats) => {
                let key = crate::summary::fmt_param(v);
                cats.iter().position(|c| *c == key).map(|i| i as f64)
            }
        }
    }

    fn label(&self, x: f64) -> String {
        match self {
            Axis::Numeric { log: true } => fmt_num(10f64.powf(x)),
            Axis::Numeric { log: false } => fmt_num(x),
            Axis::Categories(cats) => {
                let r = x.round();
                if (x - r).abs() < 1e-6 && r >= 0.0 {
                    cats.get(r as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            }
        }
    }

    fn range(&self, positions: impl Iterator<Item = f64>) -> (f64, f64) {
        match self {
            Axis::Categories(c) => (-0.5, c.len().max(1) as f64 - 0.5),
            Axis::Numeric { .. } => {
                let (lo, hi) = min_max(positions).unwrap_or((0.0, 1.0));
                padded(lo, hi, 0.06)
            }
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(self, Axis::Numeric { .. })
    }
}

/// Every parameter seen (config space and trials), with how to draw it.
fn param_axes(study: &Study) -> BTreeMap<String, Axis> {
    let mut names: BTreeMap<String, Vec<&serde_json::Value>> =
        study.config.space.keys().map(|k| (k.clone(), Vec::new())).collect();
    for t in study.trials.values() {
        for (k, v) in &t.params {
            names.entry(k.clone()).or_default().push(v);
        }
    }
    names
        .into_iter()
        .map(|(name, values)| {
            let spec = study.config.space.get(&name);
            let categorical = spec.is_some_and(|s| s.kind == ParamKind::Categorical);
            let all_numeric = values.iter().all(|v| v.is_number());
            let axis = if all_numeric && !categorical {
                let log = spec.is_some_and(|s| s.log)
                    && values.iter().all(|v| v.as_f64().is_some_and(|x| x > 0.0));
                Axis::Numeric { log }
            } else {
                let mut cats: Vec<String> =
                    values.iter().map(|v| crate::summary::fmt_param(v)).collect();
                if all_numeric {
                    let mut nums: Vec<(f64, String)> =
                        values.iter().filter_map(|v| v.as_f64()).zip(cats).collect();
                    nums.sort_by(|a, b| a.0.total_cmp(&b.0));
                    cats = nums.into_iter().map(|(_, s)| s).collect();
                } else {
                    cats.sort();
                }
                cats.dedup();
                Axis::Categories(cats)
            };
            (name, axis)
        })
        .collect()
}

/// A small deterministic jitter for categorical axes, so equal points stay visible.
fn jitter(t: &Trial, axis: &Axis) -> f64 {
    match axis {
        Axis::Categories(_) => ((t.number % 7) as f64 - 3.0) * 0.04,
        Axis::Numeric { .. } => 0.0,
    }
}

fn draw_params<DB: DrawingBackend>(root: &Area<DB>, study: &Study) -> PResult {
    let cfg = &study.config;
    let title = format!(
        "parameters against the best {} of each trial (over its iterations, mode {})",
        cfg.metric,
        cfg.mode.as_str()
    );
    let axes = param_axes(study);
    let scored: Vec<(&Trial, f64)> =
        study.trials.values().filter_map(|t| t.best(cfg.mode).map(|(_, v)| (t, v))).collect();
    if axes.is_empty() || scored.is_empty() {
        let text = if study.trials.is_empty() {
            "no trials yet"
        } else if axes.is_empty() {
            "no parameters (no [space] in config.toml and none in the journal)"
        } else {
            "no trial has a finite score yet"
        };
        return message(root, &title, text);
    }
    let numeric: Vec<(&String, &Axis)> = axes.iter().filter(|(_, a)| a.is_numeric()).collect();
    let n_panels = axes.len() + usize::from(numeric.len() >= 2);
    let cols = match n_panels {
        1 => 1,
        2..=4 => 2,
        _ => 3,
    };
    let rows = n_panels.div_ceil(cols);
    let (head, body) = root.split_vertically(62);
    header(&head, &title, &reasons_present(study.trials.values()))?;
    let panels = body.split_evenly((rows, cols));
    let best = study.best().map(|(t, _)| t.number);
    let (s0, s1) = min_max(scored.iter().map(|s| s.1)).unwrap_or((0.0, 1.0));
    let (y0, y1) = padded(s0, s1, 0.08);
    for ((name, axis), panel) in axes.iter().zip(&panels) {
        let pts: Vec<(&Trial, f64, f64)> = scored
            .iter()
            .filter_map(|&(t, s)| {
                let x = axis.position(t.params.get(name)?)?;
                Some((t, x + jitter(t, axis), s))
            })
            .collect();
        let (x0, x1) = axis.range(pts.iter().map(|p| p.1));
        let log = matches!(axis, Axis::Numeric { log: true });
        let caption = format!("{name}{}", if log { " (log axis)" } else { "" });
        let mut chart = ChartBuilder::on(panel)
            .caption(caption, (FONT, 17))
            .margin(12)
            .x_label_area_size(38)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        let ax = axis.clone();
        let x_labels = match axis {
            Axis::Categories(c) => c.len().max(1),
            Axis::Numeric { .. } => 6,
        };
        chart
            .configure_mesh()
            .x_desc(name.as_str())
            .y_desc(format!("best {}", cfg.metric))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .x_labels(x_labels)
            .x_label_formatter(&move |x| ax.label(*x))
            .y_label_formatter(&|v| fmt_num(*v))
            .draw()?;
        for &(t, x, s) in &pts {
            draw_marker(chart.plotting_area(), (x, s), t.status.label(), 5)?;
        }
        if let Some(&(t, x, s)) = pts.iter().find(|p| Some(p.0.number) == best) {
            chart.draw_series(std::iter::once(Circle::new((x, s), 11, BLACK.stroke_width(2))))?;
            chart.draw_series(std::iter::once(
                EmptyElement::at((x, s))
                    + Text::new(format!("best: {}", t.name), (14, -18), (FONT, 13).into_font()),
            ))?;
        }
        let missing = scored.len() - pts.len();
        if missing > 0 {
            panel.draw_text(
                &format!("{missing} trial(s) without a value"),
                &(FONT, 12).into_font().color(&RGBColor(90, 90, 90)),
                (70, panel.dim_in_pixel().1 as i32 - 14),
            )?;
        }
    }
    if numeric.len() >= 2
        && let Some(panel) = panels.get(axes.len())
    {
        draw_pair(panel, study, &scored, numeric[0], numeric[1], best)?;
    }
    Ok(())
}

/// A colour from dark blue (low) through green to yellow (high), for `f` in 0..=1.
pub fn score_color(f: f64) -> RGBColor {
    const STOPS: [(f64, (f64, f64, f64)); 5] = [
        (0.0, (68.0, 1.0, 84.0)),
        (0.25, (59.0, 82.0, 139.0)),
        (0.5, (33.0, 145.0, 140.0)),
        (0.75, (94.0, 201.0, 98.0)),
        (1.0, (253.0, 231.0, 37.0)),
    ];
    let f = if f.is_finite() { f.clamp(0.0, 1.0) } else { 0.0 };
    let i = STOPS.iter().position(|s| s.0 >= f).unwrap_or(STOPS.len() - 1).max(1);
    let (a, b) = (STOPS[i - 1], STOPS[i]);
    let u = (f - a.0) / (b.0 - a.0);
    let mix = |p: f64, q: f64| (p + (q - p) * u).round().clamp(0.0, 255.0) as u8;
    RGBColor(mix(a.1.0, b.1.0), mix(a.1.1, b.1.1), mix(a.1.2, b.1.2))
}

fn draw_pair<DB: DrawingBackend>(
    panel: &Area<DB>,
    study: &Study,
    scored: &[(&Trial, f64)],
    (xn, xa): (&String, &Axis),
    (yn, ya): (&String, &Axis),
    best: Option<u64>,
) -> PResult {
    let (w, _) = panel.dim_in_pixel();
    let (plot, bar) = panel.split_horizontally(w.saturating_sub(80));
    let pts: Vec<(&Trial, f64, f64, f64)> = scored
        .iter()
        .filter_map(|&(t, s)| {
            let x = xa.position(t.params.get(xn)?)?;
            let y = ya.position(t.params.get(yn)?)?;
            Some((t, x, y, s))
        })
        .collect();
    let (x0, x1) = xa.range(pts.iter().map(|p| p.1));
    let (y0, y1) = ya.range(pts.iter().map(|p| p.2));
    let (s0, s1) = min_max(pts.iter().map(|p| p.3)).unwrap_or((0.0, 1.0));
    let norm = |s: f64| if s1 > s0 { (s - s0) / (s1 - s0) } else { 0.5 };
    let mut chart = ChartBuilder::on(&plot)
        .caption(format!("{yn} against {xn}, coloured by best {}", study.config.metric), (FONT, 17))
        .margin(12)
        .x_label_area_size(38)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let (fx, fy) = (xa.clone(), ya.clone());
    chart
        .configure_mesh()
        .x_desc(xn.as_str())
        .y_desc(yn.as_str())
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .x_label_formatter(&move |x| fx.label(*x))
        .y_label_formatter(&move |y| fy.label(*y))
        .draw()?;
    for &(t, x, y, s) in &pts {
        let c = score_color(norm(s));
        chart.draw_series(std::iter::once(Circle::new((x, y), 7, c.filled())))?;
        chart.draw_series(std::iter::once(Circle::new((x, y), 7, BLACK.stroke_width(1))))?;
        if Some(t.number) == best {
            chart.draw_series(std::iter::once(Circle::new((x, y), 12, BLACK.stroke_width(2))))?;
            chart.draw_series(std::iter::once(
                EmptyElement::at((x, y))
                    + Text::new(format!("best: {}", t.name), (14, -18), (FONT, 13).into_font()),
            ))?;
        }
    }
    // Colour bar.
    let (bw, bh) = bar.dim_in_pixel();
    let (top, bottom) = (50i32, bh as i32 - 60);
    let steps = 40;
    for k in 0..steps {
        let f = 1.0 - k as f64 / steps as f64;
        let ya = top + (bottom - top) * k / steps;
        let yb = top + (bottom - top) * (k + 1) / steps;
        bar.draw(&Rectangle::new([(10, ya), (30, yb + 1)], score_color(f).filled()))?;
    }
    bar.draw(&Rectangle::new([(10, top), (30, bottom)], BLACK.stroke_width(1)))?;
    let small = TextStyle::from((FONT, 12).into_font());
    bar.draw_text(&fmt_num(s1), &small, (34, top - 6))?;
    bar.draw_text(&fmt_num(s0), &small, (34, bottom - 6))?;
    bar.draw_text(&format!("best {}", study.config.metric), &small, (2, top - 30))?;
    let _ = bw;
    Ok(())
}

// ---------------------------------------------------------------- timeline

fn time_unit(span_s: f64) -> (&'static str, f64) {
    if span_s < 180.0 {
        ("s", 1.0)
    } else if span_s < 3.0 * 3600.0 {
        ("min", 60.0)
    } else {
        ("h", 3600.0)
    }
}

/// The idle gaps of a resumed study: (end of a run, start of the next), where the second is
/// later.
fn idle_gaps(study: &Study) -> Vec<(f64, f64)> {
    study.runs.windows(2).map(|w| (w[0].end, w[1].start)).filter(|(a, b)| b > a).collect()
}

fn draw_timeline<DB: DrawingBackend>(root: &Area<DB>, study: &Study) -> PResult {
    let gaps = idle_gaps(study);
    let title = if gaps.is_empty() {
        "trials over wall time, one lane per core group"
    } else {
        "trials over wall time, one lane per core group (grey: the study was not running)"
    };
    let segs: Vec<(&Trial, &crate::study::Segment, bool)> = study
        .trials
        .values()
        .flat_map(|t| {
            let n = t.segments.len();
            t.segments.iter().enumerate().map(move |(i, s)| (t, s, i + 1 == n))
        })
        .collect();
    let Some(t0) = study.start_ts.filter(|_| !segs.is_empty()) else {
        let text = if study.trials.is_empty() {
            "no trials yet"
        } else {
            "no wall times (journal.jsonl is missing or has no trial_started events)"
        };
        return message(root, title, text);
    };
    let t_end = study.end_ts.unwrap_or(t0).max(segs.iter().map(|s| s.1.end).fold(t0, f64::max));
    let span = (t_end - t0).max(1e-3);
    let (unit, scale) = time_unit(span);
    // At most MAX_LANES lanes: a damaged journal with a huge group index must not draw forever.
    let lanes = segs
        .iter()
        .map(|s| s.1.group.saturating_add(1))
        .max()
        .unwrap_or(1)
        .max(study.groups.len())
        .min(MAX_LANES);
    let segs: Vec<_> = segs.into_iter().filter(|s| s.1.group < lanes).collect();
    let x1 = span / scale * 1.02;
    // Group 0 on top.
    let lane_y = |g: usize| (lanes - 1).saturating_sub(g) as f64;
    let (w, h) = root.dim_in_pixel();
    let (head, rest) = root.split_vertically(62);
    header(&head, title, &reasons_present(study.trials.values()))?;
    let (main, conc) = rest.split_vertically((h - 62) * 68 / 100);
    let mut chart = ChartBuilder::on(&main)
        .margin(15)
        .margin_right(25)
        .x_label_area_size(30)
        .y_label_area_size(150)
        .build_cartesian_2d(0f64..x1, -0.6f64..(lanes as f64 - 0.4))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .label_style((FONT, 14))
        .x_label_formatter(&|v| fmt_num(*v))
        .draw()?;
    // Lane names, left of the plotting area (backend pixels made relative to `main`).
    let (ox, oy) = main.get_base_pixel();
    let rel = |(x, y): (i32, i32)| (x - ox, y - oy);
    for lane in 0..lanes {
        let (_, py) = rel(chart.backend_coord(&(0.0, lane_y(lane))));
        let cores = study
            .groups
            .get(lane)
            .filter(|g| !g.is_empty())
            .map(|g| {
                let (a, b) = (g.iter().min().copied(), g.iter().max().copied());
                match (a, b) {
                    (Some(a), Some(b)) if a != b && g.len() == b - a + 1 => {
                        format!(" (cores {a}-{b})")
                    }
                    _ => format!(
                        " (cores {})",
                        g.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
                    ),
                }
            })
            .unwrap_or_default();
        main.draw_text(
            &format!("group {lane}{cores}"),
            &TextStyle::from((FONT, 14).into_font()).pos(Pos::new(HPos::Right, VPos::Center)),
            (rel(chart.backend_coord(&(0.0, 0.0))).0 - 8, py),
        )?;
    }
    let x = |ts: f64| (ts - t0) / scale;
    // The time between a run's last event and the next run's start, which the summary's wall
    // time leaves out: a grey band, named when there is room.
    let idle = RGBColor(200, 200, 200);
    for &(a, b) in &gaps {
        let (a, b) = (x(a), x(b));
        chart.draw_series(std::iter::once(Rectangle::new(
            [(a, -0.6), (b, lanes as f64 - 0.4)],
            idle.mix(0.6).filled(),
        )))?;
        let (pa, _) = rel(chart.backend_coord(&(a, 0.0)));
        let (pb, top) = rel(chart.backend_coord(&(b, lanes as f64 - 0.4)));
        if pb - pa > 110 {
            main.draw_text(
                &format!("not running ({})", crate::summary::fmt_duration((b - a) * scale)),
                &(FONT, 13)
                    .into_font()
                    .color(&RGBColor(90, 90, 90))
                    .pos(Pos::new(HPos::Center, VPos::Center)),
                ((pa + pb) / 2, top + 12),
            )?;
        }
    }
    for &(t, s, last) in &segs {
        let reason = if last { t.status.label() } else { "interrupted" };
        let c = reason_color(if last { t.status.label() } else { "running" });
        let lane = lane_y(s.group);
        let (a, b) = (x(s.start), x(s.end.max(s.start)));
        chart.draw_series(std::iter::once(Rectangle::new(
            [(a, lane - 0.32), (b, lane + 0.32)],
            c.mix(0.35).filled(),
        )))?;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(a, lane - 0.32), (b, lane + 0.32)],
            c.stroke_width(1),
        )))?;
        let (pa, py) = rel(chart.backend_coord(&(a, lane)));
        let (pb, _) = rel(chart.backend_coord(&(b, lane)));
        if pb - pa > 36 {
            main.draw_text(
                &format!("#{}", t.number),
                &TextStyle::from((FONT, 14).into_font()).pos(Pos::new(HPos::Center, VPos::Center)),
                ((pa + pb) / 2, py),
            )?;
        }
        if !last || t.status != TrialStatus::Running {
            draw_marker(chart.plotting_area(), (b, lane), reason, 6)?;
        }
    }

    // Concurrency: trials running at each moment.
    let mut changes: Vec<(f64, i32)> = segs
        .iter()
        .flat_map(|(_, s, _)| {
            let start = std::iter::once((x(s.start), 1));
            // A segment still open has not ended: no step down at the journal's last time.
            start.chain((!s.open).then(|| (x(s.end.max(s.start)), -1)))
        })
        .collect();
    changes.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut steps = vec![(0.0, 0.0)];
    let mut running = 0i32;
    let mut peak = 0i32;
    for (tx, d) in changes {
        steps.push((tx, f64::from(running)));
        running += d;
        peak = peak.max(running);
        steps.push((tx, f64::from(running)));
    }
    steps.push((x1, f64::from(running)));
    let top = peak.max(study.max_concurrent.map_or(1, |m| m as i32)).max(1);
    let mut c2 = ChartBuilder::on(&conc)
        .margin(15)
        .margin_right(25)
        .margin_top(5)
        .x_label_area_size(40)
        .y_label_area_size(150)
        .build_cartesian_2d(0f64..x1, 0f64..(f64::from(top) + 0.5))?;
    c2.configure_mesh()
        .x_desc(format!("wall time since the study started ({unit})"))
        .y_desc("trials running")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .y_labels((top + 1) as usize)
        .x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| {
            if (v - v.round()).abs() < 1e-6 { format!("{}", v.round()) } else { String::new() }
        })
        .draw()?;
    for &(a, b) in &gaps {
        c2.draw_series(std::iter::once(Rectangle::new(
            [(x(a), 0.0), (x(b), f64::from(top) + 0.5)],
            idle.mix(0.6).filled(),
        )))?;
    }
    let blue = RGBColor(31, 119, 180);
    let mut poly = steps.clone();
    poly.push((x1, 0.0));
    c2.draw_series(std::iter::once(Polygon::new(poly, blue.mix(0.2).filled())))?;
    c2.draw_series(LineSeries::new(steps, blue.stroke_width(2)))?;
    if let Some(m) = study.max_concurrent {
        c2.draw_series(DashedLineSeries::new(
            vec![(0.0, m as f64), (x1, m as f64)],
            6,
            4,
            RED.stroke_width(1),
        ))?;
    }
    let _ = w;
    Ok(())
}
