//! `cargo xtask bench [--quick] [--ring] [SECTION...]`: runs the benches and turns
//! their results into tables, printed and written under
//! `target/degu-bench/` as `<table>.json` and `<table>.svg` (a bar chart).
//!
//! Each scenario is a [`Section`]: the cargo command that runs its bench
//! and how it reads the results into [`Table`]s. `parse` reads criterion's
//! estimates; the others (`roundtrip`, `concurrency`, `slowloris`, `idle`,
//! `bulk`, `files`, `tls`) run `degu-bench/benches/peers`, which measures
//! Degu side by side with hyper, tiny_http, ureq, astra, hyper over
//! tokio-rustls and the raw-socket and raw-rustls floors, and writes each
//! table as tagged TSV for this module to read. A
//! last table checks the targets against what was measured: a missed
//! target is shown, never a failure (only a failed measurement fails the
//! run).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use degu_bench::{Case, REQUESTS, RESPONSES};

use crate::{Error, cargo, exec, target_dir};

/// One scenario of `cargo xtask bench`.
trait Section {
    /// Short name, as given on the command line.
    fn name(&self) -> &'static str;
    /// The `cargo` arguments that run this section's bench.
    fn command(&self, quick: bool, out: &Path) -> Vec<String>;
    /// Removes stale results, so a table never shows an older run.
    fn clean(&self, _out: &Path) {}
    /// Reads the bench's results: tables, each with its file name.
    fn tables(&self, criterion: &Path, out: &Path) -> Result<Vec<(String, Table)>, Error>;
}

/// The sections, in the order they run.
fn sections() -> Vec<Box<dyn Section>> {
    vec![
        Box::new(Peers {
            name: "roundtrip",
            files: &["roundtrip"],
        }),
        Box::new(Peers {
            name: "concurrency",
            files: &["concurrency", "rss"],
        }),
        Box::new(Peers {
            name: "slowloris",
            files: &["slowloris"],
        }),
        Box::new(Peers {
            name: "idle",
            files: &["idle"],
        }),
        Box::new(Peers {
            name: "bulk",
            files: &["bulk"],
        }),
        Box::new(Peers {
            name: "files",
            files: &["files"],
        }),
        Box::new(Peers {
            name: "tls",
            files: &["tls", "tls-handshakes", "tls-bulk", "tls-idle"],
        }),
        Box::new(Parse),
    ]
}

/// A table of results: a header row and rows of cells.
#[derive(Debug)]
pub struct Table {
    /// What the numbers are.
    pub title: String,
    /// Column names (also the JSON keys).
    pub columns: Vec<String>,
    /// One row per case.
    pub rows: Vec<Vec<Cell>>,
    /// The column the SVG chart draws, and the columns that name each bar.
    pub chart: Option<(String, Vec<String>)>,
}

/// One cell of a [`Table`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text (a case name).
    Text(String),
    /// A whole number (a size).
    Int(u64),
    /// A measurement, shown with `digits` decimals.
    Num(f64, usize),
}

impl Cell {
    fn show(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Num(x, digits) => format!("{x:.digits$}"),
        }
    }

    fn json(&self) -> String {
        match self {
            Cell::Text(s) => json_string(s),
            Cell::Int(n) => n.to_string(),
            Cell::Num(x, _) if x.is_finite() => format!("{x}"),
            Cell::Num(..) => "null".into(),
        }
    }
}

impl Table {
    /// The table as aligned text: first column left, the others right.
    pub fn render(&self) -> String {
        let shown: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(Cell::show).collect())
            .collect();
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|i| {
                shown
                    .iter()
                    .map(|r| r[i].len())
                    .chain([self.columns[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = format!("{}\n", self.title);
        let line = |cells: Vec<&str>, out: &mut String| {
            for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                let sep = if i == 0 { "" } else { "  " };
                if i == 0 {
                    let _ = write!(out, "{sep}{c:<w$}");
                } else {
                    let _ = write!(out, "{sep}{c:>w$}");
                }
            }
            out.push('\n');
        };
        line(self.columns.iter().map(String::as_str).collect(), &mut out);
        for r in &shown {
            line(r.iter().map(String::as_str).collect(), &mut out);
        }
        out
    }

    /// The table as a JSON object: title, columns, and one object per row.
    pub fn json(&self, section: &str) -> String {
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|r| {
                let fields: Vec<String> = self
                    .columns
                    .iter()
                    .zip(r)
                    .map(|(k, v)| format!("{}: {}", json_string(k), v.json()))
                    .collect();
                format!("    {{{}}}", fields.join(", "))
            })
            .collect();
        format!(
            "{{\n  \"section\": {},\n  \"title\": {},\n  \"rows\": [\n{}\n  ]\n}}\n",
            json_string(section),
            json_string(&self.title),
            rows.join(",\n")
        )
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The median point estimate, in ns, of criterion's
/// `<group>/<function>/new/estimates.json`.
pub fn median_ns(criterion: &Path, group: &str, function: &str) -> Result<f64, Error> {
    let path = criterion
        .join(group)
        .join(function)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e} (did the bench run?)", path.display()))?;
    median_from_estimates(&text).ok_or_else(|| format!("no median estimate in {}", path.display()))
}

/// Extracts `median.point_estimate` from criterion's estimates JSON
/// (a fixed shape: no need for a JSON parser).
pub fn median_from_estimates(json: &str) -> Option<f64> {
    let median = &json[json.find("\"median\"")?..];
    let after = &median[median.find("\"point_estimate\"")? + "\"point_estimate\"".len()..];
    let value = after.trim_start().strip_prefix(':')?.trim_start();
    let end = value
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(value.len());
    value[..end].parse().ok()
}

/// Preamble parsing: degu-core against httparse (`benches/parse.rs`).
struct Parse;

impl Section for Parse {
    fn name(&self) -> &'static str {
        "parse"
    }

    fn command(&self, quick: bool, _out: &Path) -> Vec<String> {
        let mut args = vec!["bench", "-p", "degu-bench", "--bench", "parse", "--"];
        if quick {
            // Short runs, fewer bootstrap resamples and no plots: the
            // quick mode must stay well under a minute.
            args.extend([
                "--warm-up-time",
                "0.3",
                "--measurement-time",
                "0.7",
                "--nresamples",
                "10000",
                "--noplot",
            ]);
        }
        args.into_iter().map(String::from).collect()
    }

    fn tables(&self, criterion: &Path, _out: &Path) -> Result<Vec<(String, Table)>, Error> {
        let cases: Vec<&Case> = REQUESTS.iter().chain(RESPONSES).collect();
        let mut rows = Vec::new();
        for case in cases {
            let group = case.group();
            let degu = median_ns(criterion, &group, "degu")?;
            let httparse = median_ns(criterion, &group, "httparse")?;
            rows.push(vec![
                Cell::Text(case.id.to_owned()),
                Cell::Int(case.wire.len() as u64),
                Cell::Num(degu, 1),
                Cell::Num(httparse, 1),
                Cell::Num(httparse / degu, 2),
            ]);
        }
        let table = Table {
            title: "parse: median ns per preamble, with all validation \
                    (ratio = httparse / degu; above 1, degu is faster)"
                .into(),
            columns: ["preamble", "bytes", "degu_ns", "httparse_ns", "ratio"]
                .map(String::from)
                .into(),
            rows,
            chart: Some(("ratio".into(), vec!["preamble".into()])),
        };
        Ok(vec![("parse".into(), table)])
    }
}

/// A section of `benches/peers`: one run of it writes `<file>.tsv` for
/// each of `files` into the output directory.
struct Peers {
    name: &'static str,
    files: &'static [&'static str],
}

impl Section for Peers {
    fn name(&self) -> &'static str {
        self.name
    }

    fn command(&self, quick: bool, out: &Path) -> Vec<String> {
        let mut args: Vec<String> = ["bench", "-p", "degu-bench", "--bench", "peers", "--"]
            .map(String::from)
            .into();
        if quick {
            args.push("--quick".into());
        }
        args.extend(["--out".into(), out.display().to_string()]);
        args.push(self.name.into());
        args
    }

    fn clean(&self, out: &Path) {
        for f in self.files {
            let _ = std::fs::remove_file(out.join(format!("{f}.tsv")));
        }
    }

    fn tables(&self, _criterion: &Path, out: &Path) -> Result<Vec<(String, Table)>, Error> {
        self.files
            .iter()
            .map(|f| {
                let path = out.join(format!("{f}.tsv"));
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                let table = parse_tsv(&text).map_err(|e| format!("{}: {e}", path.display()))?;
                Ok(((*f).to_owned(), table))
            })
            .collect()
    }
}

/// Reads a table written by `benches/peers`: lines `title`, `chart`,
/// `columns`, then `row`s, tab-separated, cells tagged `t:` (text), `i:`
/// (integer) or `n<digits>:` (a measurement shown with that many
/// decimals).
pub fn parse_tsv(text: &str) -> Result<Table, Error> {
    let mut t = Table {
        title: String::new(),
        columns: Vec::new(),
        rows: Vec::new(),
        chart: None,
    };
    for line in text.lines() {
        let mut fields = line.split('\t');
        match fields.next() {
            Some("title") => t.title = fields.collect::<Vec<_>>().join(" "),
            Some("chart") => {
                let col = fields.next().unwrap_or_default().to_owned();
                let labels = fields
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(String::from)
                    .collect();
                t.chart = Some((col, labels));
            }
            Some("columns") => t.columns = fields.map(String::from).collect(),
            Some("row") => {
                let row = fields.map(parse_cell).collect::<Result<Vec<_>, _>>()?;
                if row.len() != t.columns.len() {
                    return Err(format!("row of {} cells: {line:?}", row.len()));
                }
                t.rows.push(row);
            }
            _ if line.is_empty() => {}
            _ => return Err(format!("unexpected line {line:?}")),
        }
    }
    if t.columns.is_empty() {
        return Err("no columns".into());
    }
    Ok(t)
}

fn parse_cell(s: &str) -> Result<Cell, Error> {
    let bad = || format!("bad cell {s:?}");
    let (tag, value) = s.split_once(':').ok_or_else(bad)?;
    Ok(match tag {
        "t" => Cell::Text(value.to_owned()),
        "i" => Cell::Int(value.parse().map_err(|_| bad())?),
        _ => {
            let digits = tag.strip_prefix('n').ok_or_else(bad)?;
            let digits = digits.parse().map_err(|_| bad())?;
            let x = match value {
                "NaN" | "nan" => f64::NAN,
                v => v.parse().map_err(|_| bad())?,
            };
            Cell::Num(x, digits)
        }
    })
}

impl Table {
    /// The number in column `col` of the first row whose text cells match
    /// `keys` (column, value) pairs.
    pub fn lookup(&self, keys: &[(&str, &str)], col: &str) -> Option<f64> {
        let index = |name: &str| self.columns.iter().position(|c| c == name);
        let ci = index(col)?;
        let row = self.rows.iter().find(|r| {
            keys.iter().all(|(k, v)| {
                index(k).is_some_and(|i| matches!(&r[i], Cell::Text(t) if t == v))
                    || index(k)
                        .is_some_and(|i| matches!(&r[i], Cell::Int(n) if n.to_string() == *v))
            })
        })?;
        match row[ci] {
            Cell::Num(x, _) => Some(x),
            Cell::Int(n) => Some(n as f64),
            Cell::Text(_) => None,
        }
    }

    /// A horizontal bar chart of the chart column, one bar per row, as a
    /// standalone SVG document.
    pub fn svg(&self) -> Option<String> {
        let (col, labels) = self.chart.as_ref()?;
        let ci = self.columns.iter().position(|c| c == col)?;
        let li: Vec<usize> = labels
            .iter()
            .filter_map(|l| self.columns.iter().position(|c| c == l))
            .collect();
        let bars: Vec<(String, f64, String)> = self
            .rows
            .iter()
            .map(|r| {
                let label: Vec<String> = li.iter().map(|&i| r[i].show()).collect();
                let value = match r[ci] {
                    Cell::Num(x, _) => x,
                    Cell::Int(n) => n as f64,
                    Cell::Text(_) => f64::NAN,
                };
                (label.join(" "), value, r[ci].show())
            })
            .collect();
        let max = bars
            .iter()
            .map(|b| b.1)
            .filter(|x| x.is_finite())
            .fold(0.0, f64::max);
        let (label_w, bar_w, row_h) = (320.0, 520.0, 22.0);
        let title_lines = wrap(&self.title, 120);
        let top = 16.0 * title_lines.len() as f64 + 30.0;
        let height = top + row_h * bars.len() as f64 + 10.0;
        let width = label_w + bar_w + 120.0;
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             font-family=\"sans-serif\" font-size=\"12\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        );
        for (i, line) in title_lines.iter().enumerate() {
            let _ = writeln!(
                s,
                "<text x=\"10\" y=\"{}\">{}</text>",
                18.0 + 16.0 * i as f64,
                xml(line)
            );
        }
        let _ = writeln!(
            s,
            "<text x=\"{label_w}\" y=\"{}\" font-weight=\"bold\">{}</text>",
            top - 8.0,
            xml(col)
        );
        for (i, (label, value, shown)) in bars.iter().enumerate() {
            let y = top + row_h * i as f64;
            let w = if max > 0.0 && value.is_finite() {
                value / max * bar_w
            } else {
                0.0
            };
            let fill = if label.starts_with("degu") {
                "#2b7a3d"
            } else {
                "#7f8c9a"
            };
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n\
                 <rect x=\"{label_w}\" y=\"{}\" width=\"{w:.1}\" height=\"{}\" fill=\"{fill}\"/>\n\
                 <text x=\"{:.1}\" y=\"{}\">{}</text>",
                label_w - 8.0,
                y + 15.0,
                xml(label),
                y + 3.0,
                row_h - 6.0,
                label_w + w + 6.0,
                y + 15.0,
                xml(shown)
            );
        }
        s.push_str("</svg>\n");
        Some(s)
    }
}

/// Splits `text` into lines of at most about `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let last = lines.last_mut().expect("never empty");
        if !last.is_empty() && last.len() + 1 + word.len() > width {
            lines.push(word.to_owned());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A target's goal: the measured figure must be at least, or at most,
/// this.
#[derive(Clone, Copy, Debug)]
enum Goal {
    AtLeast(f64),
    AtMost(f64),
}

impl Goal {
    /// Whether `m` meets it (a NaN never does).
    fn met(self, m: f64) -> bool {
        match self {
            Goal::AtLeast(g) => m >= g,
            Goal::AtMost(g) => m <= g,
        }
    }
}

/// The targets (ARCHITECTURE.md, "Performance targets", and the crowd
/// targets of the event-loop server: slowloris, idle connections, 2 000
/// connections), checked against the tables that ran: one row per target
/// whose figure was measured (a quick run measures fewer). A missed
/// target shows as `MISSED`; it never fails the run.
fn targets(tables: &[(String, Table)]) -> Option<Table> {
    let get = |name: &str| tables.iter().find(|(n, _)| n == name).map(|(_, t)| t);
    let mut rows = Vec::new();
    let mut check = |what: String, measured: Option<f64>, goal: Goal| {
        if let Some(m) = measured {
            let (need, g) = match goal {
                Goal::AtLeast(g) => (">=", g),
                Goal::AtMost(g) => ("<=", g),
            };
            rows.push(vec![
                Cell::Text(what),
                Cell::Num(m, 3),
                Cell::Text(need.into()),
                Cell::Num(g, 2),
                Cell::Text(if goal.met(m) { "met" } else { "MISSED" }.into()),
            ]);
        }
    };
    if let Some(t) = get("roundtrip") {
        for tr in ["unix", "tcp"] {
            let floor = |pair: &str| t.lookup(&[("pair", pair), ("transport", tr)], "vs_floor");
            check(
                format!("degu -> degu round trips / floor, {tr}, pinned"),
                floor("degu -> degu"),
                Goal::AtLeast(0.90),
            );
            check(
                format!("raw -> degu round trips / floor, {tr}, pinned"),
                floor("raw -> degu"),
                Goal::AtLeast(0.95),
            );
            // The pool's cost per request.
            check(
                format!("degu Client::request / Connection round trips, {tr}, pinned"),
                floor("degu Client::request -> degu")
                    .zip(floor("degu -> degu"))
                    .map(|(p, c)| p / c),
                Goal::AtLeast(0.97),
            );
        }
    }
    if let Some(t) = get("bulk") {
        for tr in ["unix", "tcp"] {
            for c in ["degu content-length", "degu chunked"] {
                check(
                    format!("bulk {c} / copy floor, {tr}"),
                    t.lookup(&[("contender", c), ("transport", tr)], "vs_floor"),
                    Goal::AtLeast(0.80),
                );
            }
        }
    }
    if let Some(t) = get("files") {
        for tr in ["unix", "tcp"] {
            check(
                format!("files FilesApp (sendfile) / copy floor, {tr}"),
                t.lookup(
                    &[("server", "degu FilesApp (sendfile)"), ("transport", tr)],
                    "vs_floor",
                ),
                Goal::AtLeast(0.90),
            );
            // The kernel's sendfile alone may be slower than the copy
            // floor (it is over TCP loopback here): this row shows what
            // Degu adds to it.
            let mb = |s: &str| t.lookup(&[("server", s), ("transport", tr)], "MB_s");
            check(
                format!("files FilesApp / plain sendfile, {tr}"),
                mb("degu FilesApp (sendfile)")
                    .zip(mb("plain sendfile"))
                    .map(|(d, p)| d / p),
                Goal::AtLeast(0.90),
            );
        }
    }
    if let Some(t) = get("tls") {
        for tr in ["unix", "tcp"] {
            let degu = |col: &str| t.lookup(&[("pair", "degu -> degu"), ("transport", tr)], col);
            check(
                format!("tls degu -> degu round trips / rustls floor, {tr}, pinned"),
                degu("vs_floor"),
                Goal::AtLeast(0.90),
            );
            check(
                format!("tls degu -> degu round trips / hyper -> hyper, {tr}, pinned"),
                degu("vs_hyper"),
                Goal::AtLeast(1.3),
            );
        }
    }
    if let Some(t) = get("tls-handshakes") {
        for tr in ["unix", "tcp"] {
            for kind in ["full", "resumed"] {
                check(
                    format!("tls handshakes/s, {kind}, degu / hyper, {tr}"),
                    t.lookup(
                        &[
                            ("pair", "degu -> degu"),
                            ("handshake", kind),
                            ("transport", tr),
                        ],
                        "vs_hyper",
                    ),
                    Goal::AtLeast(1.0),
                );
            }
        }
    }
    if let Some(t) = get("tls-bulk") {
        // On one CPU: the unpinned figures swing too much on a small VM
        // to judge a ratio.
        for tr in ["unix", "tcp"] {
            check(
                format!("tls bulk degu / rustls floor, {tr}, pinned"),
                t.lookup(
                    &[
                        ("contender", "degu content-length"),
                        ("transport", tr),
                        ("cpus", "one"),
                    ],
                    "vs_floor",
                ),
                Goal::AtLeast(0.90),
            );
        }
    }
    if let Some(t) = get("tls-idle") {
        let kib = |s: &str| t.lookup(&[("server", s)], "kib_per_conn");
        check(
            "tls idle: RSS per connection, degu / hyper".into(),
            kib("degu")
                .zip(kib("hyper (multi-thread)"))
                .map(|(d, h)| d / h),
            Goal::AtMost(1.0),
        );
    }
    if let Some(t) = get("concurrency") {
        let rps = |s: &str, n: &str| t.lookup(&[("server", s), ("conns", n)], "req_s");
        let ratio = |n: &str, other: &str| Some(rps("degu", n)? / rps(other, n)?);
        check(
            "200 connections: degu req/s / tiny_http's".into(),
            ratio("200", "tiny_http (4 workers)"),
            Goal::AtLeast(1.0),
        );
        check(
            "200 connections: degu req/s / hyper's".into(),
            ratio("200", "hyper (multi-thread)"),
            Goal::AtLeast(0.80),
        );
        for n in ["200", "2000"] {
            check(
                format!("{n} connections: degu req/s / hyper's, event-loop aim"),
                ratio(n, "hyper (multi-thread)"),
                Goal::AtLeast(1.5),
            );
        }
    }
    if let Some(t) = get("slowloris") {
        let degu = |col: &str| t.lookup(&[("server", "degu"), ("slow_conns", "5000")], col);
        check(
            "slowloris, 5000 slow connections: degu well-behaved requests served, %".into(),
            degu("share_pct"),
            Goal::AtLeast(100.0),
        );
        check(
            "slowloris, 5000 slow connections: degu p99 of served, ms".into(),
            degu("p99_ms"),
            Goal::AtMost(5.0),
        );
    }
    if let Some(t) = get("idle") {
        let degu = |col: &str| t.lookup(&[("server", "degu"), ("conns", "10000")], col);
        check(
            "idle, 10000 connections: degu RSS KiB per connection".into(),
            degu("kib_per_conn"),
            Goal::AtMost(2.0),
        );
        // The default max_workers (256), the event thread and the main
        // thread of the `serve` child.
        check(
            "idle, 10000 connections: degu threads".into(),
            degu("threads"),
            Goal::AtMost(258.0),
        );
    }
    if let Some(t) = get("parse") {
        let ci = t.columns.iter().position(|c| c == "ratio")?;
        let min = t
            .rows
            .iter()
            .filter_map(|r| match r[ci] {
                Cell::Num(x, _) => Some(x),
                _ => None,
            })
            .fold(f64::INFINITY, f64::min);
        check(
            "parse: slowest case, httparse ns / degu ns".into(),
            min.is_finite().then_some(min),
            Goal::AtLeast(1.0),
        );
    }
    if rows.is_empty() {
        return None;
    }
    Some(Table {
        title: "targets (ARCHITECTURE.md, and the crowd aims), from the tables above; a missed \
                target fails nothing"
            .into(),
        columns: ["target", "measured", "need", "goal", "status"]
            .map(String::from)
            .into(),
        rows,
        chart: None,
    })
}

/// `cargo xtask bench [--quick] [--ring] [SECTION...]`.
pub fn run(args: &[String]) -> Result<(), Error> {
    let mut quick = false;
    let mut ring = false;
    let mut only = Vec::new();
    let all = sections();
    for a in args {
        match a.as_str() {
            "--quick" => quick = true,
            "--ring" => ring = true,
            s if all.iter().any(|x| x.name() == s) => only.push(s.to_owned()),
            other => {
                let names: Vec<&str> = all.iter().map(|x| x.name()).collect();
                return Err(format!(
                    "bench: unexpected argument {other:?} (sections: {})",
                    names.join(", ")
                ));
            }
        }
    }
    let criterion = target_dir().join("criterion");
    let out_dir = target_dir().join("degu-bench");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let mut tables = Vec::new();
    let mut failed = Vec::new();
    for section in all {
        if !only.is_empty() && !only.iter().any(|s| s == section.name()) {
            continue;
        }
        section.clean(&out_dir);
        let mut args = section.command(quick, &out_dir);
        // rustls's ring provider for degu-tls instead of aws-lc-rs (the
        // `tls` section's figures; the others do not use TLS).
        if ring && let Some(at) = args.iter().position(|a| a == "degu-bench") {
            let flags = ["--no-default-features", "--features", "ring"];
            args.splice(at + 1..at + 1, flags.map(String::from));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = cargo(&args);
        cmd.env("CRITERION_HOME", &criterion);
        // The benches' own progress goes to stderr; stdout is the tables.
        cmd.stdout(std::io::stderr());
        // A failed measurement still writes its table (NaN where it
        // failed); the run as a whole fails at the end.
        if let Err(e) = exec(&mut cmd) {
            failed.push(e);
        }
        match section.tables(&criterion, &out_dir) {
            Ok(t) => tables.extend(t),
            Err(e) => failed.push(e),
        }
    }
    if let Some(t) = targets(&tables) {
        tables.push(("targets".into(), t));
    }
    println!();
    for (name, table) in &tables {
        let json = out_dir.join(format!("{name}.json"));
        std::fs::write(&json, table.json(name))
            .map_err(|e| format!("cannot write {}: {e}", json.display()))?;
        let mut also = json.display().to_string();
        if let Some(svg) = table.svg() {
            let path: PathBuf = out_dir.join(format!("{name}.svg"));
            std::fs::write(&path, svg)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            also += &format!(", {}", path.display());
        }
        println!("{}(also in {also})\n", table.render());
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESTIMATES: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":24.1,"upper_bound":25.0},"point_estimate":24.5,"standard_error":0.2},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":23.0,"upper_bound":23.9},"point_estimate":23.417,"standard_error":0.1},"median_abs_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":0.1,"upper_bound":0.3},"point_estimate":0.2,"standard_error":0.05},"slope":null,"std_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":0.5,"upper_bound":0.9},"point_estimate":0.7,"standard_error":0.1}}"#;

    #[test]
    fn reads_the_median_not_the_mean() {
        assert_eq!(median_from_estimates(ESTIMATES), Some(23.417));
        assert_eq!(median_from_estimates("{}"), None);
        assert_eq!(
            median_from_estimates(r#"{"median": {"point_estimate" : 1.5e2}}"#),
            Some(150.0)
        );
    }

    #[test]
    fn median_from_a_criterion_directory() {
        let dir = std::env::temp_dir().join(format!("xtask-test-{}", std::process::id()));
        let est = dir.join("parse-x").join("degu").join("new");
        std::fs::create_dir_all(&est).unwrap();
        std::fs::write(est.join("estimates.json"), ESTIMATES).unwrap();
        assert_eq!(median_ns(&dir, "parse-x", "degu").unwrap(), 23.417);
        assert!(median_ns(&dir, "parse-x", "httparse").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tables_render_and_serialize() {
        let t = Table {
            title: "t".into(),
            columns: ["preamble", "degu_ns", "ratio"].map(String::from).into(),
            chart: Some(("degu_ns".into(), vec!["preamble".into()])),
            rows: vec![
                vec![
                    Cell::Text("a\"b".into()),
                    Cell::Num(12.345, 1),
                    Cell::Num(1.0, 2),
                ],
                vec![
                    Cell::Text("long-name".into()),
                    Cell::Num(5.0, 1),
                    Cell::Num(f64::NAN, 2),
                ],
            ],
        };
        assert_eq!(
            t.render(),
            "t\npreamble   degu_ns  ratio\na\"b           12.3   1.00\nlong-name      5.0    NaN\n"
        );
        let json = t.json("s");
        assert!(
            json.contains(r#"{"preamble": "a\"b", "degu_ns": 12.345, "ratio": 1}"#),
            "{json}"
        );
        assert!(json.contains(r#""ratio": null"#), "{json}");
    }

    /// A table as `benches/peers` would write it.
    fn peers_table(columns: &[&str], rows: Vec<Vec<Cell>>) -> Table {
        Table {
            title: "t".into(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows,
            chart: None,
        }
    }

    /// The status of the target row whose name starts with `what`.
    fn status(t: &Table, what: &str) -> Option<String> {
        t.rows.iter().find_map(|r| match (&r[0], &r[4]) {
            (Cell::Text(name), Cell::Text(s)) if name.starts_with(what) => Some(s.clone()),
            _ => None,
        })
    }

    #[test]
    fn crowd_targets_check_both_ways() {
        let slow = peers_table(
            &["server", "slow_conns", "share_pct", "p99_ms"],
            vec![
                vec![
                    Cell::Text("degu".into()),
                    Cell::Int(5000),
                    Cell::Num(100.0, 1),
                    Cell::Num(7.5, 2),
                ],
                vec![
                    Cell::Text("hyper (multi-thread)".into()),
                    Cell::Int(5000),
                    Cell::Num(100.0, 1),
                    Cell::Num(1.0, 2),
                ],
            ],
        );
        let idle = peers_table(
            &["server", "conns", "kib_per_conn", "threads"],
            vec![vec![
                Cell::Text("degu".into()),
                Cell::Int(10000),
                Cell::Num(1.5, 2),
                Cell::Int(10002),
            ]],
        );
        let t = targets(&[("slowloris".into(), slow), ("idle".into(), idle)]).unwrap();
        assert_eq!(t.rows.len(), 4);
        assert_eq!(
            status(&t, "slowloris, 5000 slow connections: degu well").unwrap(),
            "met"
        );
        assert_eq!(
            status(&t, "slowloris, 5000 slow connections: degu p99").unwrap(),
            "MISSED"
        );
        assert_eq!(
            status(&t, "idle, 10000 connections: degu RSS").unwrap(),
            "met"
        );
        assert_eq!(
            status(&t, "idle, 10000 connections: degu threads").unwrap(),
            "MISSED"
        );
        // A quick run measures neither level: no row, no table.
        let quick = peers_table(
            &["server", "conns", "kib_per_conn", "threads"],
            vec![vec![
                Cell::Text("degu".into()),
                Cell::Int(1000),
                Cell::Num(f64::NAN, 2),
                Cell::Int(3),
            ]],
        );
        assert!(targets(&[("idle".into(), quick)]).is_none());
        assert!(!Goal::AtMost(1.0).met(f64::NAN) && !Goal::AtLeast(1.0).met(f64::NAN));
    }

    #[test]
    fn every_parse_case_has_a_distinct_group() {
        let mut groups: Vec<String> = REQUESTS.iter().chain(RESPONSES).map(Case::group).collect();
        assert!(REQUESTS.len() >= 3 && RESPONSES.len() >= 2);
        let n = groups.len();
        groups.sort();
        groups.dedup();
        assert_eq!(groups.len(), n);
    }
}
