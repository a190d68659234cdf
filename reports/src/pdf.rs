//! The PDF: the report as typst source (every text a string literal, so nothing in the data is
//! read as markup), compiled by typst as a library in a world that holds only that source, the
//! charts' SVGs and the fonts bundled with typst-assets.
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::LazyLock;

use chrono::Datelike;
use domain::report::WeeklyReport;
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst_layout::PagedDocument;
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

use crate::text::typst as lit;
use crate::{METHODOLOGY, cover, sections};

/// Why a PDF could not be made (never expected: the source is ours).
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("typst could not compile the report: {0}")]
    Compile(String),
    #[error("typst could not write the PDF: {0}")]
    Export(String),
}

struct Fonts {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

static FONTS: LazyLock<Fonts> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts().flat_map(|data| Font::iter(Bytes::new(data))).collect();
    Fonts { book: LazyHash::new(FontBook::from_fonts(&fonts)), fonts }
});

static LIBRARY: LazyLock<LazyHash<Library>> = LazyLock::new(|| LazyHash::new(Library::default()));

fn file_id(path: &str) -> Result<FileId, PdfError> {
    let vpath = VirtualPath::new(path).map_err(|_| PdfError::Compile(format!("bad file name {path}")))?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

struct ReportWorld {
    main: Source,
    files: HashMap<FileId, Bytes>,
    today: Datetime,
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }
    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.book
    }
    fn main(&self) -> FileId {
        self.main.id()
    }
    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() { Ok(self.main.clone()) } else { Err(FileError::NotSource) }
    }
    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.files.get(&id).cloned().ok_or_else(|| FileError::NotFound(std::path::PathBuf::from("/")))
    }
    fn font(&self, index: usize) -> Option<Font> {
        FONTS.fonts.get(index).cloned()
    }
    fn today(&self, _: Option<Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}

/// The typst source of the report, and the charts it includes (file name, SVG).
fn source(r: &WeeklyReport) -> (String, Vec<(String, String)>) {
    let mut o = String::with_capacity(32 * 1024);
    let title = format!("{} weekly report {}", r.fund, r.week);
    let _ = writeln!(
        o,
        "#set document(title: {}, author: {}, date: datetime(year: {}, month: {}, day: {}))",
        lit(&title),
        lit(&r.fund),
        r.sunday.year(),
        r.sunday.month(),
        r.sunday.day()
    );
    o.push_str("#set page(paper: \"a4\", margin: (x: 1.8cm, y: 2cm), numbering: \"1 / 1\")\n");
    o.push_str("#set text(font: \"Libertinus Serif\", size: 10pt, lang: \"en\")\n");
    o.push_str("#set table(stroke: 0.4pt + luma(200), inset: 4pt)\n");
    o.push_str("#show heading.where(level: 1): it => { pagebreak(weak: true); block(below: 0.8em, text(16pt, fill: rgb(\"#2b5797\"), it.body)) }\n");
    o.push_str("#show raw: set text(size: 7.5pt)\n");
    // Cover.
    o.push_str("#page(numbering: none)[\n#v(4cm)\n");
    let _ = writeln!(o, "#text(11pt, fill: luma(90))[Weekly research report]\\");
    let _ = writeln!(o, "#text(26pt, weight: \"bold\")[#{}]\\", lit(&r.fund));
    let _ = writeln!(o, "#text(18pt)[#{}]", lit(&r.week));
    o.push_str("#v(1.5cm)\n#table(columns: (5.5cm, 1fr), stroke: none,\n");
    for (k, v) in cover(r) {
        let _ = writeln!(o, "  text(fill: luma(90), {}), raw({}),", lit(k), lit(&v));
    }
    o.push_str(")\n#v(1fr)\n#text(8pt, fill: luma(90))[Past performance does not guarantee future results. Every figure is computed from the console's hash-chained event log; the methodology is in the appendix.]\n]\n");
    let mut charts = Vec::new();
    for s in sections(r) {
        let _ = writeln!(o, "= #{}", lit(s.title));
        if let Some(n) = &s.note {
            let _ = writeln!(o, "#text(9pt, fill: luma(90), {})\n", lit(n));
        }
        for t in &s.tables {
            let _ = writeln!(o, "#block(breakable: true)[#text(weight: \"bold\", {})]", lit(&t.title));
            let cols: Vec<&str> = (0..t.header.len()).map(|i| if i == 0 { "1fr" } else { "auto" }).collect();
            let aligns: Vec<&str> = t.numeric.iter().map(|n| if *n { "right" } else { "left" }).collect();
            let _ = writeln!(o, "#table(columns: ({},), align: ({},),", cols.join(", "), aligns.join(", "));
            let header: Vec<String> = t.header.iter().map(|h| format!("text(weight: \"bold\", {})", lit(h))).collect();
            let _ = writeln!(o, "  table.header({}),", header.join(", "));
            if t.rows.is_empty() {
                let _ = writeln!(o, "  table.cell(colspan: {}, text(fill: luma(120), \"none\")),", t.header.len());
            }
            for row in &t.rows {
                let cells: Vec<String> = row.iter().map(|c| lit(c)).collect();
                let _ = writeln!(o, "  {},", cells.join(", "));
            }
            o.push_str(")\n");
        }
        for (caption, svg) in s.charts {
            let name = format!("/chart-{}.svg", charts.len());
            let _ = writeln!(o, "#figure(image({}, width: 100%), caption: {})", lit(&name), lit(&caption));
            charts.push((name, svg));
        }
    }
    o.push_str("= Appendix: methodology\n");
    for (k, v) in METHODOLOGY {
        let _ = writeln!(o, "#text(weight: \"bold\", {}) \\\n#{}\n", lit(k), lit(v));
    }
    (o, charts)
}

/// The report as an A4 PDF. Deterministic: its id and date come from the week.
pub fn pdf(r: &WeeklyReport) -> Result<Vec<u8>, PdfError> {
    let (text, charts) = source(r);
    let main = Source::new(file_id("/report.typ")?, text);
    let files = charts.into_iter().map(|(name, svg)| Ok((file_id(&name)?, Bytes::new(svg.into_bytes())))).collect::<Result<_, PdfError>>()?;
    let day = Datetime::from_ymd(r.sunday.year(), r.sunday.month() as u8, r.sunday.day() as u8).ok_or_else(|| PdfError::Compile("the week's Sunday is not a date".into()))?;
    let world = ReportWorld { main, files, today: day };
    let document: PagedDocument = typst::compile(&world).output.map_err(|errors| PdfError::Compile(errors.iter().map(|e| e.message.to_string()).collect::<Vec<_>>().join("; ")))?;
    let options = typst_pdf::PdfOptions {
        ident: Smart::Custom(format!("tradewatch-weekly-report-{}", r.week)),
        timestamp: Some(typst_pdf::Timestamp::new_utc(day)),
        ..Default::default()
    };
    typst_pdf::pdf(&document, &options).map_err(|errors| PdfError::Export(errors.iter().map(|e| e.message.to_string()).collect::<Vec<_>>().join("; ")))
}
