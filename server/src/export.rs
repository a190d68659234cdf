//! Raw data export: CSV and Parquet of the log's events (by kind), the fills with their slippage
//! decomposition, the closed trades and the daily returns, over a time range of market time.
//!
//! Streamed in constant memory: events are read from the store a page at a time and written out
//! as they come (CSV a page per chunk; Parquet a row group of [`ROW_GROUP`] rows at a time, by the
//! arrow-rs `parquet` writer on a blocking thread), so a 1,000,000-event export holds one page and
//! one row group, never the file. Money and quantities are decimal strings (exact); times are
//! UTC (Parquet: timestamp milliseconds; CSV: RFC 3339).
use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use domain::event::{Body, Event};
use domain::view::EventQuery;
use tokio::sync::mpsc;

use crate::store::Store;

/// Rows per Parquet row group (and the most the writer holds).
pub const ROW_GROUP: usize = 65_536;
/// Events read per store query.
const PAGE: u32 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    Events,
    Fills,
    Trades,
    Returns,
}

impl Dataset {
    pub const NAMES: [&'static str; 4] = ["events", "fills", "trades", "returns"];
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "events" => Some(Self::Events),
            "fills" => Some(Self::Fills),
            "trades" => Some(Self::Trades),
            "returns" => Some(Self::Returns),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "csv" => Some(Self::Csv),
            "parquet" => Some(Self::Parquet),
            _ => None,
        }
    }
    pub fn mime(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// What to export: a range of market time (inclusive), and for events one kind.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub kind: Option<String>,
}

/// A column's type.
#[derive(Clone, Copy)]
enum Col {
    Int,
    Float,
    Text,
    Time,
}

/// One cell.
enum Cell {
    Int(Option<i64>),
    Float(Option<f64>),
    Text(Option<String>),
    Time(Option<DateTime<Utc>>),
}

fn columns(d: Dataset) -> &'static [(&'static str, Col)] {
    match d {
        Dataset::Events => &[
            ("seq", Col::Int),
            ("event_id", Col::Text),
            ("kind", Col::Text),
            ("ts", Col::Time),
            ("received_at", Col::Time),
            ("instrument", Col::Text),
            ("signal_id", Col::Text),
            ("order_id", Col::Text),
            ("flags", Col::Text),
            ("hash", Col::Text),
            ("payload", Col::Text),
        ],
        Dataset::Fills => &[
            ("seq", Col::Int),
            ("ts", Col::Time),
            ("fill_id", Col::Text),
            ("order_id", Col::Text),
            ("instrument", Col::Text),
            ("quantity", Col::Text),
            ("price", Col::Text),
            ("fee", Col::Text),
            ("liquidity", Col::Text),
            ("notional_usd", Col::Text),
            ("timing_usd", Col::Text),
            ("spread_usd", Col::Text),
            ("impact_usd", Col::Text),
            ("slippage_bps", Col::Float),
        ],
        Dataset::Trades => &[
            ("instrument", Col::Text),
            ("side", Col::Text),
            ("opened", Col::Time),
            ("closed", Col::Time),
            ("notional_usd", Col::Text),
            ("pnl_usd", Col::Text),
        ],
        Dataset::Returns => &[("date", Col::Text), ("return", Col::Float)],
    }
}

fn schema(d: Dataset) -> Arc<Schema> {
    let fields: Vec<Field> = columns(d)
        .iter()
        .map(|(name, col)| {
            let t = match col {
                Col::Int => DataType::Int64,
                Col::Float => DataType::Float64,
                Col::Text => DataType::Utf8,
                Col::Time => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            };
            Field::new(*name, t, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Where rows go: a CSV writer or a Parquet writer, each sending bytes down the channel.
enum Sink {
    Csv(csv::Writer<Chunks>),
    Parquet { writer: parquet::arrow::ArrowWriter<Chunks>, schema: Arc<Schema>, rows: Vec<Vec<Cell>> },
}

/// A `Write` that sends what it is given down the response's channel in chunks of 64 KiB.
struct Chunks {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl Write for Chunks {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Sink {
    fn new(d: Dataset, f: Format, tx: mpsc::Sender<Result<Bytes, std::io::Error>>) -> Result<Self> {
        let out = Chunks { tx, buf: Vec::with_capacity(64 * 1024) };
        Ok(match f {
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(columns(d).iter().map(|(n, _)| *n))?;
                Sink::Csv(w)
            }
            Format::Parquet => {
                let schema = schema(d);
                let props = parquet::file::properties::WriterProperties::builder()
                    .set_max_row_group_row_count(Some(ROW_GROUP))
                    .set_compression(parquet::basic::Compression::SNAPPY)
                    .build();
                let writer = parquet::arrow::ArrowWriter::try_new(out, Arc::clone(&schema), Some(props))?;
                Sink::Parquet { writer, schema, rows: Vec::new() }
            }
        })
    }

    fn row(&mut self, row: Vec<Cell>) -> Result<()> {
        match self {
            Sink::Csv(w) => {
                let text: Vec<String> = row
                    .into_iter()
                    .map(|c| match c {
                        Cell::Int(v) => v.map(|v| v.to_string()).unwrap_or_default(),
                        Cell::Float(v) => v.map(|v| v.to_string()).unwrap_or_default(),
                        Cell::Text(v) => v.unwrap_or_default(),
                        Cell::Time(v) => v.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)).unwrap_or_default(),
                    })
                    .collect();
                w.write_record(text)?;
            }
            Sink::Parquet { rows, .. } => {
                rows.push(row);
                if rows.len() >= 8_192 {
                    self.flush_batch()?;
                }
            }
        }
        Ok(())
    }

    /// Hands the buffered rows to the Parquet writer as one record batch.
    fn flush_batch(&mut self) -> Result<()> {
        let Sink::Parquet { writer, schema, rows } = self else { return Ok(()) };
        if rows.is_empty() {
            return Ok(());
        }
        let taken = std::mem::take(rows);
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for (i, field) in schema.fields().iter().enumerate() {
            let array: ArrayRef = match field.data_type() {
                DataType::Int64 => {
                    let mut b = Int64Builder::with_capacity(taken.len());
                    taken.iter().for_each(|r| b.append_option(if let Some(Cell::Int(v)) = r.get(i) { *v } else { None }));
                    Arc::new(b.finish())
                }
                DataType::Float64 => {
                    let mut b = Float64Builder::with_capacity(taken.len());
                    taken.iter().for_each(|r| b.append_option(if let Some(Cell::Float(v)) = r.get(i) { *v } else { None }));
                    Arc::new(b.finish())
                }
                DataType::Timestamp(..) => {
                    let mut b = TimestampMillisecondBuilder::with_capacity(taken.len()).with_timezone("UTC");
                    taken.iter().for_each(|r| b.append_option(if let Some(Cell::Time(v)) = r.get(i) { v.map(|t| t.timestamp_millis()) } else { None }));
                    Arc::new(b.finish())
                }
                _ => {
                    let mut b = StringBuilder::new();
                    taken.iter().for_each(|r| b.append_option(if let Some(Cell::Text(v)) = r.get(i) { v.as_deref() } else { None }));
                    Arc::new(b.finish())
                }
            };
            arrays.push(array);
        }
        writer.write(&RecordBatch::try_new(Arc::clone(schema), arrays)?)?;
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.flush_batch()?;
        match self {
            Sink::Csv(w) => {
                let mut inner = w.into_inner().map_err(|e| anyhow::anyhow!("finishing the CSV: {}", e.error()))?;
                inner.flush()?;
            }
            Sink::Parquet { writer, .. } => {
                let mut inner = writer.into_inner()?;
                inner.flush()?;
            }
        }
        Ok(())
    }
}

/// A refused export request: the parameter and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub field: String,
    pub message: String,
}

fn bad(field: &str, message: impl Into<String>) -> Refusal {
    Refusal { field: field.to_string(), message: message.into() }
}

/// RFC 3339, or a date: its start for `from`, its end for `to`.
fn time(field: &str, s: &str, end_of_day: bool) -> Result<DateTime<Utc>, Refusal> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad(field, "an RFC 3339 time or a date YYYY-MM-DD"))?;
    let t = if end_of_day { d.and_hms_milli_opt(23, 59, 59, 999) } else { d.and_hms_opt(0, 0, 0) };
    t.map(|t| t.and_utc()).ok_or_else(|| bad(field, "not a date"))
}

/// Parses the file name and the query into what to export.
pub fn request(file: &str, params: &std::collections::HashMap<String, String>) -> Result<(Dataset, Format, Filter), Refusal> {
    let (name, ext) = file.rsplit_once('.').ok_or_else(|| bad("file", "DATASET.csv or DATASET.parquet"))?;
    let dataset = Dataset::parse(name).ok_or_else(|| bad("file", format!("the dataset is one of {}", Dataset::NAMES.join(", "))))?;
    let format = Format::parse(ext).ok_or_else(|| bad("file", "the extension is .csv or .parquet"))?;
    if let Some(k) = params.keys().find(|k| !["from", "to", "kind"].contains(&k.as_str())) {
        return Err(bad(k, "unknown parameter; expected from, to, kind"));
    }
    let get = |k: &str| params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let from = get("from").map(|s| time("from", s, false)).transpose()?;
    let to = get("to").map(|s| time("to", s, true)).transpose()?;
    if let (Some(a), Some(b)) = (from, to)
        && a > b
    {
        return Err(bad("to", "before from"));
    }
    let kind = match get("kind") {
        None => None,
        Some(_) if dataset != Dataset::Events => return Err(bad("kind", "only for the events dataset")),
        Some(k) => Some(domain::event::Kind::parse(k).ok_or_else(|| bad("kind", "not an event kind"))?.as_str().to_string()),
    };
    Ok((dataset, format, Filter { from, to, kind }))
}

fn text(s: impl ToString) -> Cell {
    Cell::Text(Some(s.to_string()))
}

fn in_range(f: &Filter, t: DateTime<Utc>) -> bool {
    f.from.is_none_or(|a| t >= a) && f.to.is_none_or(|b| t <= b)
}

/// The rows of `dataset`, produced on a blocking thread that reads the store a page at a time.
/// Returns the receiving end of the byte stream; an error mid-way ends the stream with it.
/// `held` is what the rows of trades and returns come from (the folds' copies); events and
/// fills are read from the store.
pub fn stream(store: Store, held: Held, dataset: Dataset, format: Format, filter: Filter) -> mpsc::Receiver<Result<Bytes, std::io::Error>> {
    let (tx, rx) = mpsc::channel(8);
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let failed = tx.clone();
        if let Err(e) = produce(&handle, &store, held, dataset, format, &filter, tx) {
            tracing::warn!(error = %e, dataset = dataset.as_str(), "export ended early");
            let _ = failed.blocking_send(Err(std::io::Error::other("the export failed; see the server log")));
        }
    });
    rx
}

/// What the rows come from.
pub enum Held {
    Log,
    Trades(Vec<domain::metrics::ClosedTrade>),
    Returns((Vec<chrono::NaiveDate>, Vec<f64>)),
}

fn produce(handle: &tokio::runtime::Handle, store: &Store, held: Held, dataset: Dataset, format: Format, filter: &Filter, tx: mpsc::Sender<Result<Bytes, std::io::Error>>) -> Result<()> {
    let mut sink = Sink::new(dataset, format, tx)?;
    match held {
        Held::Log => {
            let mut slippage = domain::analytics::Slippage::default();
            // Orders' instruments (a fill names only its order): one entry per order id.
            let mut instruments: std::collections::HashMap<String, String> = std::collections::HashMap::new();
            let mut after = 0u64;
            loop {
                // Fills need every quote, signal and order before them; events only what matches.
                let q = EventQuery {
                    kind: if dataset == Dataset::Events { filter.kind.clone() } else { None },
                    to: filter.to,
                    from: if dataset == Dataset::Events { filter.from } else { None },
                    after_seq: Some(after),
                    limit: Some(PAGE),
                    ..Default::default()
                };
                let page = handle.block_on(store.events(&q)).context("reading events")?;
                for row in &page.rows {
                    after = row.seq;
                    if dataset == Dataset::Events {
                        sink.row(vec![
                            Cell::Int(i64::try_from(row.seq).ok()),
                            text(&row.event_id),
                            text(&row.kind),
                            Cell::Time(Some(row.ts)),
                            Cell::Time(Some(row.received_at)),
                            Cell::Text(row.instrument.clone()),
                            Cell::Text(row.signal_id.clone()),
                            Cell::Text(row.order_id.clone()),
                            Cell::Text(row.flags.clone()),
                            text(&row.hash),
                            text(&row.payload),
                        ])?;
                        continue;
                    }
                    let Ok(event) = Event::parse_json(&row.payload, row.received_at) else { continue };
                    let parts = slippage.apply(&event);
                    if let Body::Order(o) = &event.body {
                        instruments.entry(o.order_id.as_str().to_string()).or_insert_with(|| o.instrument.as_str().to_string());
                        if o.status.is_terminal() {
                            slippage.forget(o.order_id.as_str());
                        }
                    }
                    let (Body::Fill(f), true) = (&event.body, in_range(filter, event.ts)) else { continue };
                    let money = |d: Option<rust_decimal::Decimal>| Cell::Text(d.map(|d| d.normalize().to_string()));
                    let bps = parts.as_ref().and_then(|p| {
                        let n = rust_decimal::prelude::ToPrimitive::to_f64(&p.notional)?;
                        let c = rust_decimal::prelude::ToPrimitive::to_f64(&(p.timing + p.spread + p.impact))?;
                        (n > 0.0).then(|| c / n * 10_000.0)
                    });
                    let instrument = instruments.get(f.order_id.as_str()).cloned();
                    sink.row(vec![
                        Cell::Int(i64::try_from(row.seq).ok()),
                        Cell::Time(Some(event.ts)),
                        text(&f.fill_id),
                        text(&f.order_id),
                        Cell::Text(instrument),
                        text(f.quantity.normalize()),
                        text(f.price.normalize()),
                        text(f.fee.normalize()),
                        text(f.liquidity.as_str()),
                        money(Some(f.price * f.quantity)),
                        money(parts.as_ref().map(|p| p.timing)),
                        money(parts.as_ref().map(|p| p.spread)),
                        money(parts.as_ref().map(|p| p.impact)),
                        Cell::Float(bps),
                    ])?;
                }
                if page.next.is_none() {
                    break;
                }
            }
        }
        Held::Trades(trades) => {
            for t in trades {
                sink.row(vec![
                    text(&t.instrument),
                    text(if t.long { "long" } else { "short" }),
                    Cell::Time(Some(t.opened)),
                    Cell::Time(Some(t.closed)),
                    text(t.notional.normalize()),
                    text(t.pnl.normalize()),
                ])?;
            }
        }
        Held::Returns((dates, returns)) => {
            for (d, r) in dates.into_iter().zip(returns) {
                sink.row(vec![text(d), Cell::Float(Some(r))])?;
            }
        }
    }
    sink.finish()
}
