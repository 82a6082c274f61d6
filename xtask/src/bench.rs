//! `cargo xtask bench [--quick]`: runs criterion benches and turns their
//! estimates into tables, printed and written as JSON to
//! `target/degu-bench/<section>.json`.
//!
//! Each scenario is a [`Section`]: the bench target it runs and how it
//! reads its results into a [`Table`]. Round trips, concurrency or bulk
//! transfers are added as further sections in [`sections`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use degu_bench::{Case, REQUESTS, RESPONSES};

use crate::{Error, cargo, exec, target_dir};

/// One scenario of `cargo xtask bench`.
trait Section {
    /// Short name: the JSON file's name and the table's title.
    fn name(&self) -> &'static str;
    /// The `cargo bench` arguments selecting this section's bench.
    fn bench_args(&self) -> Vec<&'static str>;
    /// Reads the bench's results.
    fn table(&self, criterion: &Path) -> Result<Table, Error>;
}

/// The sections, in the order they run.
fn sections() -> Vec<Box<dyn Section>> {
    vec![Box::new(Parse)]
}

/// A table of results: a header row and rows of cells.
#[derive(Debug)]
pub struct Table {
    /// What the numbers are.
    pub title: String,
    /// Column names (also the JSON keys).
    pub columns: Vec<&'static str>,
    /// One row per case.
    pub rows: Vec<Vec<Cell>>,
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
        line(self.columns.clone(), &mut out);
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

    fn bench_args(&self) -> Vec<&'static str> {
        vec!["-p", "degu-bench", "--bench", "parse"]
    }

    fn table(&self, criterion: &Path) -> Result<Table, Error> {
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
        Ok(Table {
            title: "parse: median ns per preamble, with all validation \
                    (ratio = httparse / degu; above 1, degu is faster)"
                .into(),
            columns: vec!["preamble", "bytes", "degu_ns", "httparse_ns", "ratio"],
            rows,
        })
    }
}

/// `cargo xtask bench [--quick]`.
pub fn run(args: &[String]) -> Result<(), Error> {
    let mut quick = false;
    for a in args {
        match a.as_str() {
            "--quick" => quick = true,
            other => return Err(format!("bench: unexpected argument {other:?}")),
        }
    }
    let criterion = target_dir().join("criterion");
    let out_dir = target_dir().join("degu-bench");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let mut tables = Vec::new();
    for section in sections() {
        let mut args = vec!["bench"];
        args.extend(section.bench_args());
        args.push("--");
        if quick {
            args.extend(["--warm-up-time", "1", "--measurement-time", "2"]);
        }
        let mut cmd = cargo(&args);
        cmd.env("CRITERION_HOME", &criterion);
        exec(&mut cmd)?;
        let table = section.table(&criterion)?;
        let path: PathBuf = out_dir.join(format!("{}.json", section.name()));
        std::fs::write(&path, table.json(section.name()))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        tables.push((table, path));
    }
    println!();
    for (table, path) in tables {
        println!("{}(also in {})\n", table.render(), path.display());
    }
    Ok(())
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
            columns: vec!["preamble", "degu_ns", "ratio"],
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
