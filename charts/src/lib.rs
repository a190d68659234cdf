//! Charts drawn with plotters to SVG strings. The same functions run on the server (first
//! render) and in the browser (live updates), so a chart never changes shape on hydration.
use domain::metrics;
use domain::view::Point;
use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::prelude::*;

const LINE: RGBColor = RGBColor(37, 99, 235);
const LOSS: RGBColor = RGBColor(220, 38, 38);
const GRID: RGBColor = RGBColor(229, 231, 235);
const AXIS: RGBColor = RGBColor(75, 85, 99);

/// Dates for spans of days or more; hours and minutes within shorter spans.
fn time_label(span_ms: i64) -> impl Fn(&i64) -> String {
    let fmt = if span_ms < 3 * 86_400_000 { "%m-%d %H:%M" } else { "%Y-%m-%d" };
    move |ms: &i64| chrono::DateTime::from_timestamp_millis(*ms).map(|t| t.format(fmt).to_string()).unwrap_or_default()
}

/// Whole dollars with thousands separators: equity moves are small against its level, so
/// abbreviations like "1.00M" would make every tick read the same.
fn money_label(v: &f64) -> String {
    rust_decimal::Decimal::from_f64_retain(v.round())
        .map(|d| domain::format::decimal(d, 0))
        .unwrap_or_else(|| format!("{v:.0}"))
}

fn empty(w: u32, h: u32, message: &str) -> String {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let style = ("sans-serif", 14).into_font().color(&AXIS);
        let _ = root.draw_text(message, &style, (16, (h / 2) as i32));
        let _ = root.present();
    }
    buf
}

/// Equity (USD) over market time.
pub fn equity_svg(points: &[Point], w: u32, h: u32) -> String {
    if points.len() < 2 {
        return empty(w, h, "The equity curve appears once two market timestamps have arrived.");
    }
    let ys: Vec<f64> = points.iter().map(|p| p.v).collect();
    let (lo, hi) = ys.iter().fold((f64::MAX, f64::MIN), |(lo, hi), y| (lo.min(*y), hi.max(*y)));
    let pad = ((hi - lo) * 0.05).max(hi.abs() * 1e-4).max(1.0);
    line_chart(points.iter().map(|p| (p.t, p.v)), lo - pad, hi + pad, "Equity (USD)", &money_label, LINE, w, h, false)
}

/// Drawdown (% below the running peak) over market time; always <= 0.
pub fn drawdown_svg(points: &[Point], w: u32, h: u32) -> String {
    if points.len() < 2 {
        return empty(w, h, "The drawdown chart appears once two market timestamps have arrived.");
    }
    let ys: Vec<f64> = points.iter().map(|p| p.v).collect();
    let dd = metrics::drawdowns(&ys);
    let lo = dd.iter().copied().fold(0.0, f64::min).min(-0.001) * 1.1;
    let pct = |v: &f64| format!("{:.1}%", v * 100.0);
    line_chart(points.iter().zip(dd).map(|(p, d)| (p.t, d)), lo, 0.0, "Drawdown (%)", &pct, LOSS, w, h, true)
}

const BENCH: RGBColor = RGBColor(107, 114, 128);

/// Several lines over time on one y axis, with a legend; `pct`: y values are fractions shown
/// as %.
pub fn lines_svg(series: &[(&str, &[Point], bool)], y_desc: &str, pct: bool, when_empty: &str, w: u32, h: u32) -> String {
    let pts: Vec<&Point> = series.iter().flat_map(|(_, p, _)| p.iter()).collect();
    if pts.len() < 2 {
        return empty(w, h, when_empty);
    }
    let (lo, hi) = pts.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.v), hi.max(p.v)));
    let pad = ((hi - lo) * 0.05).max(1e-6);
    // Enough decimals that neighbouring ticks differ (a quiet series moves in hundredths of %).
    let span = if pct { (hi - lo) * 100.0 } else { hi - lo };
    let dp = ((-(span / 6.0).max(1e-9).log10()).ceil().max(1.0) as usize).min(5);
    let y_fmt = move |v: &f64| if pct { format!("{:.dp$}%", v * 100.0) } else { format!("{v:.dp$}") };
    let lines: Vec<Line> = series
        .iter()
        .map(|(name, points, primary)| Line { name: Some(name), data: points.iter().map(|p| (p.t, p.v)).collect(), color: if *primary { LINE } else { BENCH }, width: if *primary { 2 } else { 1 }, area: false })
        .collect();
    time_chart(&lines, lo - pad, hi + pad, y_desc, &y_fmt, w, h)
}

/// Histogram of daily returns in 40 buckets (% of days per bucket) over a symmetric range that
/// holds the 1st to 99th percentiles (at most +/-10%; the tails beyond fall in the end buckets),
/// with the 95% historical VaR marked.
pub fn distribution_svg(returns: &[f64], var_95: Option<f64>, w: u32, h: u32) -> String {
    if returns.len() < 2 {
        return empty(w, h, "The distribution appears once the console has two days of returns.");
    }
    const EDGE: i32 = 20;
    let mut sorted = returns.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    let range = at(0.01).abs().max(at(0.99).abs()).clamp(1e-5, 0.1) * 1.05;
    let bucket = range / f64::from(EDGE);
    let dp = ((-(range * 100.0 / 4.0).log10()).ceil().max(0.0) as usize).min(4);
    let mut counts = vec![0u32; (2 * EDGE) as usize];
    for r in returns {
        let i = ((r / bucket).floor() as i32).clamp(-EDGE, EDGE - 1) + EDGE;
        counts[i as usize] += 1;
    }
    let n = returns.len() as f64;
    let top = counts.iter().copied().max().unwrap_or(1) as f64 / n * 100.0;
    let mut buf = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root).margin(12).x_label_area_size(28).y_label_area_size(56).build_cartesian_2d(-range..range, 0f64..top * 1.1)?;
        mesh(&mut chart)
            .x_labels(9)
            .y_labels(5)
            .x_label_formatter(&|v| format!("{:.dp$}%", v * 100.0))
            .y_label_formatter(&|v| format!("{v:.0}%"))
            .x_desc("daily return")
            .y_desc("% of days")
            .draw()?;
        chart.draw_series(counts.iter().enumerate().map(|(i, c)| {
            let x0 = f64::from(i as i32 - EDGE) * bucket;
            let color = if x0 < 0.0 { LOSS } else { LINE };
            Rectangle::new([(x0, 0.0), (x0 + bucket, f64::from(*c) / n * 100.0)], color.mix(0.6).filled())
        }))?;
        if let Some(v) = var_95.filter(|v| v.abs() < range) {
            chart.draw_series(std::iter::once(PathElement::new(vec![(v, 0.0), (v, top * 1.05)], AXIS.stroke_width(2))))?.label("VaR 95%").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], AXIS.stroke_width(2)));
            chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(GRID).label_font(("sans-serif", 11)).draw()?;
        }
        root.present()?;
        Ok(())
    })()
    .is_ok();
    if drawn { buf } else { empty(w, h, "This chart could not be drawn.") }
}

/// Plot-area edges of [`time_chart`] in pixels (margin + y label area on the left, margin on
/// the right): pages place click targets over the points with them.
const PLOT_LEFT: f64 = 12.0 + 84.0;
const PLOT_RIGHT: f64 = 12.0;

/// A KPI's weekly values over time with its target band shaded (green) and the points marked.
/// `pct`: values are fractions shown as %; otherwise milliseconds shown as seconds. Returns the
/// SVG and each point's x position as a fraction of the chart's width (for click targets).
pub fn kpi_trend_svg(points: &[(i64, f64)], band: (Option<f64>, Option<f64>), pct: bool, y_desc: &str, w: u32, h: u32) -> (String, Vec<f64>) {
    if points.is_empty() {
        return (empty(w, h, "No weeks with a value yet."), Vec::new());
    }
    let scale = if pct { 1.0 } else { 1e-3 };
    let ys: Vec<f64> = points.iter().map(|p| p.1 * scale).chain(band.0.map(|x| x * scale)).chain(band.1.map(|x| x * scale)).collect();
    let (mut lo, mut hi) = ys.iter().fold((f64::MAX, f64::MIN), |(lo, hi), y| (lo.min(*y), hi.max(*y)));
    if pct {
        lo = lo.min(0.0);
        hi = hi.max(1.0);
    } else {
        lo = 0.0;
        hi = (hi * 1.1).max(1.0);
    }
    let half_week = 3 * 86_400_000 + 43_200_000;
    let (t0, t1) = (points[0].0 - half_week, points[points.len() - 1].0 + half_week);
    let x_of = |t: i64| (PLOT_LEFT + (t - t0) as f64 / (t1 - t0) as f64 * (f64::from(w) - PLOT_LEFT - PLOT_RIGHT)) / f64::from(w);
    let xs = points.iter().map(|p| x_of(p.0)).collect();
    let y_fmt = move |v: &f64| if pct { format!("{:.0}%", v * 100.0) } else { format!("{v:.0} s") };
    let x_fmt = time_label(t1 - t0);
    let mut buf = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root).margin(12).x_label_area_size(28).y_label_area_size(84).build_cartesian_2d(t0..t1, lo..hi)?;
        mesh(&mut chart)
            .x_labels(6)
            .y_labels(5)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .y_desc(y_desc)
            .draw()?;
        let (blo, bhi) = (band.0.map(|x| x * scale).unwrap_or(lo), band.1.map(|x| x * scale).unwrap_or(hi));
        if band.0.is_some() || band.1.is_some() {
            chart.draw_series(std::iter::once(Rectangle::new([(t0, blo), (t1, bhi)], GAIN.mix(0.12).filled())))?.label("target band").legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], GAIN.mix(0.3).filled()));
        }
        let data: Vec<(i64, f64)> = points.iter().map(|p| (p.0, p.1 * scale)).collect();
        chart.draw_series(LineSeries::new(data.iter().copied(), LINE.stroke_width(2)))?;
        chart.draw_series(data.iter().map(|(t, v)| {
            let off = *v < blo || *v > bhi;
            Circle::new((*t, *v), 4, if off { LOSS.filled() } else { LINE.filled() })
        }))?;
        if band.0.is_some() || band.1.is_some() {
            chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(GRID).label_font(("sans-serif", 11)).draw()?;
        }
        root.present()?;
        Ok(())
    })()
    .is_ok();
    if drawn { (buf, xs) } else { (empty(w, h, "This chart could not be drawn."), Vec::new()) }
}

const GAIN: RGBColor = RGBColor(22, 163, 74);

/// A square matrix of correlations (-1 to 1) as coloured cells: blue positive, red negative,
/// white 0, grey where there is no value; the value printed in each cell.
pub fn heatmap_svg(labels: &[String], matrix: &[Vec<Option<f64>>], size: u32) -> String {
    let n = labels.len();
    if n < 2 {
        return empty(size, 120, "The correlation matrix appears once two instruments have 20 days of marks.");
    }
    let left = 80.0;
    let top = 70.0;
    let cell = ((f64::from(size) - left - 12.0) / n as f64).floor().clamp(8.0, 56.0);
    let h = (top + cell * n as f64 + 12.0) as u32;
    let w = (left + cell * n as f64 + 12.0) as u32;
    let mut buf = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        let font = ("sans-serif", 11).into_font().color(&AXIS);
        let small = ("sans-serif", (cell / 3.2).clamp(7.0, 11.0) as u32).into_font();
        for (i, name) in labels.iter().enumerate() {
            let y = (top + cell * i as f64 + cell / 2.0 - 5.0) as i32;
            root.draw_text(name, &font, (6, y))?;
            let x = (left + cell * i as f64 + cell / 2.0 - 4.0) as i32;
            root.draw_text(name, &font.transform(FontTransform::Rotate270), (x, (top - 6.0) as i32))?;
            for (j, v) in matrix.get(i).map(|r| r.as_slice()).unwrap_or(&[]).iter().enumerate() {
                let (x0, y0) = ((left + cell * j as f64) as i32, (top + cell * i as f64) as i32);
                let (x1, y1) = (x0 + cell as i32 - 1, y0 + cell as i32 - 1);
                let fill = match v {
                    None => RGBColor(229, 231, 235),
                    Some(c) => {
                        let a = c.abs().min(1.0);
                        let base = if *c >= 0.0 { LINE } else { LOSS };
                        let mix = |b: u8| (255.0 - (255.0 - f64::from(b)) * a) as u8;
                        RGBColor(mix(base.0), mix(base.1), mix(base.2))
                    }
                };
                root.draw(&Rectangle::new([(x0, y0), (x1, y1)], fill.filled()))?;
                if let Some(c) = v
                    && cell >= 22.0
                {
                    let color = if c.abs() > 0.6 { WHITE } else { BLACK };
                    root.draw_text(&format!("{c:.2}"), &small.clone().color(&color), (x0 + 2, y0 + (cell / 2.0) as i32 - 5))?;
                }
            }
        }
        root.present()?;
        Ok(())
    })()
    .is_ok();
    if drawn { buf } else { empty(size, 120, "This chart could not be drawn.") }
}

/// Horizontal bars of signed amounts (USD), labels on the left, gains blue and losses red.
pub fn bars_svg(items: &[(String, f64)], unit: &str, w: u32) -> String {
    if items.is_empty() {
        return empty(w, 60, "Nothing to show yet.");
    }
    let row = 24.0;
    let (left, right) = (130.0, 110.0);
    let h = (row * items.len() as f64 + 34.0) as u32;
    let max = items.iter().map(|i| i.1.abs()).fold(0.0, f64::max).max(1e-9);
    let span = f64::from(w) - left - right;
    let any_neg = items.iter().any(|i| i.1 < 0.0);
    let zero = if any_neg { left + span / 2.0 } else { left };
    let scale = if any_neg { span / 2.0 / max } else { span / max };
    let mut buf = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        let font = ("sans-serif", 12).into_font().color(&AXIS);
        for (i, (label, v)) in items.iter().enumerate() {
            let y = 8.0 + row * i as f64;
            root.draw_text(label, &font, (6, (y + 4.0) as i32))?;
            let x1 = zero + v * scale;
            let (a, b) = if x1 < zero { (x1, zero) } else { (zero, x1) };
            root.draw(&Rectangle::new([(a as i32, y as i32 + 2), (b.max(a + 1.0) as i32, (y + row - 6.0) as i32)], (if *v < 0.0 { LOSS } else { LINE }).mix(0.75).filled()))?;
            let text = if unit == "USD" { format!("{} {unit}", money_label(v)) } else { format!("{v:.1} {unit}") };
            root.draw_text(&text, &font, ((f64::from(w) - right + 8.0) as i32, (y + 4.0) as i32))?;
        }
        let bottom = (8.0 + row * items.len() as f64) as i32;
        root.draw(&PathElement::new(vec![(zero as i32, 4), (zero as i32, bottom)], AXIS.stroke_width(1)))?;
        root.present()?;
        Ok(())
    })()
    .is_ok();
    if drawn { buf } else { empty(w, 60, "This chart could not be drawn.") }
}

/// Lines over integer day offsets around an event (offset 0 is the event day), y as %.
pub fn event_paths_svg(series: &[(String, Vec<(i64, f64)>)], w: u32, h: u32) -> String {
    let pts: Vec<(i64, f64)> = series.iter().flat_map(|s| s.1.iter().copied()).collect();
    if pts.len() < 2 {
        return empty(w, h, "No regime changes with a full window of fund returns yet.");
    }
    let (x0, x1) = pts.iter().fold((i64::MAX, i64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (lo, hi) = pts.iter().fold((0.0f64, 0.0f64), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let pad = ((hi - lo) * 0.08).max(1e-5);
    const PALETTE: [RGBColor; 6] = [LINE, LOSS, GAIN, RGBColor(217, 119, 6), RGBColor(124, 58, 237), BENCH];
    let mut buf = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root).margin(12).x_label_area_size(32).y_label_area_size(70).build_cartesian_2d(x0..x1, (lo - pad)..(hi + pad))?;
        mesh(&mut chart)
            .x_labels((x1 - x0 + 1) as usize)
            .y_labels(6)
            .x_label_formatter(&|x| format!("{x:+}"))
            .y_label_formatter(&|v| format!("{:.2}%", v * 100.0))
            .x_desc("trading days from the change (0 = the first day in the new regime)")
            .y_desc("Fund return vs day -1 (%)")
            .draw()?;
        chart.draw_series(std::iter::once(PathElement::new(vec![(0, lo - pad), (0, hi + pad)], AXIS.stroke_width(1))))?;
        for (i, (name, data)) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(data.iter().copied(), color.stroke_width(2)))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
        }
        chart.configure_series_labels().position(SeriesLabelPosition::UpperLeft).background_style(WHITE.mix(0.8)).border_style(GRID).label_font(("sans-serif", 11)).draw()?;
        root.present()?;
        Ok(())
    })()
    .is_ok();
    if drawn { buf } else { empty(w, h, "This chart could not be drawn.") }
}

#[allow(clippy::too_many_arguments)]
fn line_chart(
    data: impl Iterator<Item = (i64, f64)> + Clone,
    lo: f64,
    hi: f64,
    y_desc: &str,
    y_fmt: &dyn Fn(&f64) -> String,
    color: RGBColor,
    w: u32,
    h: u32,
    area: bool,
) -> String {
    time_chart(&[Line { name: None, data: data.collect(), color, width: 2, area }], lo, hi, y_desc, y_fmt, w, h)
}

/// The mesh every chart shares: grey axis labels and titles, light grid lines only at labels.
fn mesh<'a, 'b, X, Y, DB>(chart: &'b mut ChartContext<'a, DB, Cartesian2d<X, Y>>) -> MeshStyle<'a, 'b, X, Y, DB>
where
    X: Ranged + ValueFormatter<X::ValueType>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
    DB: DrawingBackend,
{
    let mut m = chart.configure_mesh();
    m.axis_desc_style(("sans-serif", 12).into_font().color(&AXIS))
        .label_style(("sans-serif", 11).into_font().color(&AXIS))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(GRID);
    m
}

/// One series of a time chart; named series get a legend entry.
struct Line<'a> {
    name: Option<&'a str>,
    data: Vec<(i64, f64)>,
    color: RGBColor,
    width: u32,
    area: bool,
}

/// Lines (or areas down to 0) over time, on one y axis from `lo` to `hi`.
fn time_chart(lines: &[Line], lo: f64, hi: f64, y_desc: &str, y_fmt: &dyn Fn(&f64) -> String, w: u32, h: u32) -> String {
    let mut buf = String::new();
    let (t0, t1) = lines.iter().flat_map(|l| l.data.iter()).fold((i64::MAX, i64::MIN), |(a, b), (t, _)| (a.min(*t), b.max(*t)));
    let x_fmt = time_label(t1.saturating_sub(t0));
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(84)
            .build_cartesian_2d(t0..t1.max(t0 + 1), lo..hi)?;
        mesh(&mut chart)
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(y_fmt)
            .y_desc(y_desc)
            .draw()?;
        for l in lines {
            let (color, width) = (l.color, l.width);
            let drawn = if l.area {
                chart.draw_series(AreaSeries::new(l.data.iter().copied(), 0.0, color.mix(0.25)).border_style(color.stroke_width(width)))?
            } else {
                chart.draw_series(LineSeries::new(l.data.iter().copied(), color.stroke_width(width)))?
            };
            if let Some(name) = l.name {
                drawn.label(name).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
            }
        }
        if lines.iter().any(|l| l.name.is_some()) {
            chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(GRID).label_font(("sans-serif", 11)).draw()?;
        }
        root.present()?;
        Ok(())
    })()
    .is_ok();
    if drawn { buf } else { empty(w, h, "This chart could not be drawn.") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_the_axis_title() {
        let pts: Vec<Point> = (0..50).map(|i| Point { t: 1_500_000_000_000 + i * 86_400_000, v: 1e6 + (i as f64).sin() * 1e4 }).collect();
        let svg = equity_svg(&pts, 600, 240);
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(svg.contains("Equity (USD)"));
        assert!(drawdown_svg(&pts, 600, 240).contains("Drawdown (%)"));
        assert!(equity_svg(&pts[..1], 600, 240).contains("appears once"));
    }

    #[test]
    fn quiet_series_get_ticks_that_differ_and_the_histogram_marks_var() {
        let pts: Vec<Point> = (0..40).map(|i| Point { t: 1_500_000_000_000 + i * 86_400_000, v: (i as f64).sin() * 2e-4 }).collect();
        let svg = lines_svg(&[("Fund", &pts, true)], "Cumulative return (%)", true, "none yet", 600, 240);
        assert!(svg.contains("Fund") && svg.contains("0.010%"), "hundredths of a percent are labelled");
        assert!(lines_svg(&[("Fund", &pts[..1], true)], "x", true, "none yet", 600, 240).contains("none yet"));
        let returns: Vec<f64> = pts.iter().map(|p| p.v).collect();
        assert!(distribution_svg(&returns, Some(-1.5e-4), 400, 200).contains("VaR 95%"));
    }

    #[test]
    fn kpi_trend_marks_points_outside_the_band_and_reports_their_positions() {
        let week = 7 * 86_400_000;
        let pts: Vec<(i64, f64)> = (0..5).map(|i| (1_700_000_000_000 + i * week, if i == 2 { 0.2 } else { 0.8 })).collect();
        let (svg, xs) = kpi_trend_svg(&pts, (Some(0.6), None), true, "SLAR (%)", 600, 200);
        assert!(svg.contains("SLAR (%)") && svg.contains("target band"));
        assert_eq!(svg.matches("fill=\"#DC2626\"").count(), 1, "one point below the band is red");
        assert_eq!(xs.len(), 5);
        assert!(xs.windows(2).all(|w| w[0] < w[1]) && xs[0] > 0.16 && xs[4] < 0.99);
    }

    #[test]
    fn heatmap_and_bars_draw_every_cell_and_bar() {
        let labels = vec!["A".to_string(), "B".to_string()];
        let svg = heatmap_svg(&labels, &[vec![Some(1.0), Some(-0.5)], vec![Some(-0.5), None]], 400);
        assert!(svg.contains("-0.50") && svg.contains("1.00"));
        let bars = bars_svg(&[("MTUM".into(), 1200.0), ("residual".into(), -300.0)], "USD", 600);
        assert!(bars.contains("MTUM") && bars.contains("1,200 USD") && bars.contains("-300 USD"));
        let paths = event_paths_svg(&[("into risk-off".into(), vec![(-1, 0.0), (0, 0.01), (1, 0.02)])], 600, 240);
        assert!(paths.contains("into risk-off"));
    }
}
