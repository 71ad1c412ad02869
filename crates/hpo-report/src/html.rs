//! `index.html`: one self-contained page (images inlined as base64 data URIs, inline CSS, no
//! script, no network) with the plots, the summary table and the final CSV.

use std::fmt::Write as _;

use base64::Engine as _;

use crate::plots::{Plot, ThresholdMark, study_curves_y_range};
use crate::study::{CsvTable, FINAL_CSV_FILE, HITS_CSV_FILE, Study};
use crate::summary::{Summary, fmt_num};

/// Escape text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:1240px;color:#222}\
table{border-collapse:collapse;margin:0.5em 0 1.5em}\
th,td{border:1px solid #bbb;padding:3px 8px;text-align:left}\
td.n{text-align:right}th{background:#eee}\
figure{margin:1em 0 2em}figcaption{color:#555;max-width:1200px}\
img{max-width:100%;border:1px solid #ddd}\
.csv{max-height:40em;overflow:auto}.note{color:#8a4b00}";

fn caption(plot: Plot, study: &Study) -> String {
    let m = &study.config.metric;
    match plot {
        Plot::Curves => {
            let thr = fmt_num(study.config.hit_threshold);
            let side = match study_curves_y_range(study).map(|r| r.threshold) {
                Some(ThresholdMark::Above) => Some("above"),
                Some(ThresholdMark::Below) => Some("below"),
                _ => None,
            };
            let off = side
                .map(|side| {
                    format!(
                        " The hit threshold {thr} is {side} the chart, which is scaled to the data."
                    )
                })
                .unwrap_or_default();
            format!(
                "{m} per iteration for every trial, coloured by stop reason (running trials in \
                 black); the marker shows where each trial ended, the circle the best value. \
                 Dashed grey: ASHA rung milestones; dashed red: the hit threshold.{off}"
            )
        }
        Plot::Params => format!(
            "Each parameter against the best {m} each trial reached over its iterations (mode \
             {}); log parameters on a log axis; the best trial circled. With two numeric \
             parameters, one against the other coloured by that score.",
            study.config.mode.as_str()
        ),
        Plot::Timeline => {
            let idle = if study.runs.len() > 1 {
                " Grey bands: the study was not running (between a stop and a resume); the \
                 summary's wall time leaves them out."
            } else {
                ""
            };
            format!(
                "Trials over wall time, one lane per core group (#n = trial number), coloured by \
                 how they ended, with a marker at the end; below, how many trials ran at once \
                 (dashed red: max_concurrent).{idle}"
            )
        }
    }
}

fn table(out: &mut String, header: &[String], rows: &[Vec<String>], numeric_from: usize) {
    out.push_str("<table><thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>\n");
    for r in rows {
        out.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let class = if i >= numeric_from { " class=\"n\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", escape(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

fn csv_section(out: &mut String, title: &str, file: &str, t: Option<&CsvTable>) {
    let _ = writeln!(out, "<h2>{}</h2>", escape(title));
    match t {
        Some(t) if !t.rows.is_empty() => {
            let _ =
                writeln!(out, "<p>{} ({} rows)</p><div class=\"csv\">", escape(file), t.rows.len());
            table(out, &t.header, &t.rows, usize::MAX);
            out.push_str("</div>\n");
        }
        Some(_) => {
            let _ = writeln!(out, "<p>{} has no rows yet.</p>", escape(file));
        }
        None => {
            let _ = writeln!(out, "<p>No {} in the study folder.</p>", escape(file));
        }
    }
}

/// The page, with `pngs` (one per [`Plot::ALL`], in order) inlined.
pub fn render_html(study: &Study, summary: &Summary, pngs: &[(Plot, Vec<u8>)]) -> String {
    let name = study
        .dir
        .file_name()
        .map_or_else(|| study.dir.display().to_string(), |n| n.to_string_lossy().into_owned());
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Study report: {n}</title><style>{STYLE}</style></head><body>\n\
         <h1>Study report: {n}</h1>\n",
        n = escape(&name)
    );
    let _ =
        writeln!(out, "<p>{}<br>{}", escape(&summary.headline()), escape(&summary.metric_line()));
    if let Some(w) = summary.wall_line() {
        let _ = write!(out, "<br>{}", escape(&w));
    }
    out.push_str("</p>\n<h2>Summary</h2>\n");
    if summary.trials == 0 {
        out.push_str("<p>No trials yet.</p>\n");
    } else {
        let t = summary.reason_table();
        let header: Vec<String> = t[0].to_vec();
        let rows: Vec<Vec<String>> = t[1..].iter().map(|r| r.to_vec()).collect();
        out.push_str("<h3>Trials by stop reason</h3>\n");
        table(&mut out, &header, &rows, 1);
        out.push_str("<h3>Best trial</h3>\n<p>");
        let lines = summary.best_lines();
        let _ = write!(
            out,
            "{}",
            lines.iter().map(|l| escape(l.trim())).collect::<Vec<_>>().join("<br>")
        );
        out.push_str("</p>\n");
        if let Some(b) = &summary.best
            && !b.params.is_empty()
        {
            let header = vec!["parameter".to_string(), "value".to_string()];
            let rows: Vec<Vec<String>> =
                b.params.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect();
            table(&mut out, &header, &rows, 1);
        }
        let _ = writeln!(out, "<p>{}</p>", escape(&summary.hits_line()));
        let _ = writeln!(out, "<p><b>{}</b></p>", escape(&summary.savings_line()));
        for l in summary.error_lines() {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(&l));
        }
    }
    if !summary.notes.is_empty() {
        out.push_str("<h3>Notes</h3>\n<ul>\n");
        for n in &summary.notes {
            let _ = writeln!(out, "<li class=\"note\">{}</li>", escape(n));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<h2>Plots</h2>\n");
    let b64 = base64::engine::general_purpose::STANDARD;
    for (plot, png) in pngs {
        let (w, h) = plot.size();
        let _ = writeln!(
            out,
            "<figure id=\"{s}\"><img alt=\"{s}\" width=\"{w}\" height=\"{h}\" \
             src=\"data:image/png;base64,{data}\"><figcaption>{c}</figcaption></figure>",
            s = plot.stem(),
            data = b64.encode(png),
            c = escape(&caption(*plot, study))
        );
    }
    csv_section(&mut out, "Final results", FINAL_CSV_FILE, study.final_csv.as_ref());
    csv_section(&mut out, "Hits", HITS_CSV_FILE, study.hits_csv.as_ref());
    out.push_str("</body></html>\n");
    out
}
