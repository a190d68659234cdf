//! The self-contained HTML file: inline CSS and SVG, no script, no external reference.
use std::fmt::Write;

use domain::report::WeeklyReport;

use crate::text::html as esc;
use crate::{METHODOLOGY, cover, sections};

/// Scoped under `.tw-report`, so the same markup can sit inside the console's page.
const CSS: &str = ".tw-report{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d2430;max-width:940px;margin:2rem auto;padding:0 1rem;line-height:1.45;background:#fff}\
.tw-report h1{font-size:1.7rem;margin:.2rem 0}.tw-report h2{border-bottom:2px solid #2b5797;padding-bottom:.2rem;margin-top:2.2rem}.tw-report h3{font-size:1rem;margin:1.2rem 0 .4rem}\
.tw-report table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.3rem 0 1rem}.tw-report th,.tw-report td{border-bottom:1px solid #dde2ea;padding:.3rem .5rem;text-align:left;vertical-align:top}\
.tw-report th{background:#f1f4f9}.tw-report td.num,.tw-report th.num{text-align:right;font-variant-numeric:tabular-nums}.tw-report .cover td:first-child{width:16rem;color:#556}\
.tw-report .note{color:#556;font-size:.9rem}.tw-report figure{margin:.5rem 0 1.2rem}.tw-report figcaption{font-size:.85rem;color:#556}.tw-report .hash{font-family:ui-monospace,monospace;font-size:.8rem;word-break:break-all;overflow-wrap:anywhere}.tw-report .cover{table-layout:fixed}";

/// The markers around the part of the file a page may embed (style and content).
pub const FRAGMENT_START: &str = "<!--report-->";
pub const FRAGMENT_END: &str = "<!--/report-->";

/// The report as one HTML document.
pub fn html(r: &WeeklyReport) -> String {
    let mut o = String::with_capacity(64 * 1024);
    let title = format!("{} — weekly report {}", r.fund, r.week);
    let _ = write!(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head><body>{FRAGMENT_START}<style>{CSS}</style><div class=\"tw-report\">\n", esc(&title));
    let _ = write!(o, "<header><p class=\"note\">Weekly research report</p><h1>{}</h1><p>{}</p><table class=\"cover\">", esc(&r.fund), esc(&r.week));
    for (k, v) in cover(r) {
        let _ = write!(o, "<tr><td>{}</td><td class=\"hash\">{}</td></tr>", esc(k), esc(&v));
    }
    o.push_str("</table></header>\n");
    for s in sections(r) {
        let _ = write!(o, "<section><h2>{}</h2>", esc(s.title));
        if let Some(n) = &s.note {
            let _ = write!(o, "<p class=\"note\">{}</p>", esc(n));
        }
        for t in &s.tables {
            let _ = write!(o, "<h3>{}</h3><table><thead><tr>", esc(&t.title));
            for (i, h) in t.header.iter().enumerate() {
                let class = if t.numeric.get(i).copied().unwrap_or(false) { " class=\"num\"" } else { "" };
                let _ = write!(o, "<th{class}>{}</th>", esc(h));
            }
            o.push_str("</tr></thead><tbody>");
            if t.rows.is_empty() {
                let _ = write!(o, "<tr><td colspan=\"{}\" class=\"note\">none</td></tr>", t.header.len());
            }
            for row in &t.rows {
                o.push_str("<tr>");
                for (i, cell) in row.iter().enumerate() {
                    let class = if t.numeric.get(i).copied().unwrap_or(false) { " class=\"num\"" } else { "" };
                    let _ = write!(o, "<td{class}>{}</td>", esc(cell));
                }
                o.push_str("</tr>");
            }
            o.push_str("</tbody></table>");
        }
        for (caption, svg) in &s.charts {
            // The SVG comes from our own chart code (plotters): markup, not text.
            let _ = write!(o, "<figure>{svg}<figcaption>{}</figcaption></figure>", esc(caption));
        }
        o.push_str("</section>\n");
    }
    o.push_str("<section><h2>Appendix: methodology</h2><dl>");
    for (k, v) in METHODOLOGY {
        let _ = write!(o, "<dt><strong>{}</strong></dt><dd>{}</dd>", esc(k), esc(v));
    }
    let _ = write!(o, "</dl><p class=\"note\">Past performance does not guarantee future results. Figures from the console's audited event log.</p></section>\n</div>{FRAGMENT_END}</body></html>\n");
    o
}
