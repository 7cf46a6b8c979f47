//! Prints the relevance figures of directory search over the judged query set
//! (`tests/data/judged-queries.txt`), then every query's top five with their grades.
//!
//! `cargo run -p tests --example relevance` (add `-- --explain` for each result's explanation,
//! `-- --tsv FILE` to write each query's nDCG@5 for comparing two runs).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/e2e/relevance_eval/mod.rs"]
mod relevance_eval;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let explain = args.iter().any(|a| a == "--explain");
    let tsv = args.iter().position(|a| a == "--tsv").and_then(|i| args.get(i + 1)).cloned();
    let region = relevance_eval::Region::new();
    let (figures, summary) = relevance_eval::run(&region, explain);
    for f in &figures {
        let ndcg = f.ndcg5.map_or("   -".to_string(), |n| format!("{n:.2}"));
        let flag = match (f.unrelated_shown, f.false_alarm) {
            (Some(true), _) => "  [nothing fits, unrelated shown as matches]",
            (_, Some(true)) => "  [said nothing close, though one fits]",
            _ => "",
        };
        println!("{ndcg}  {}{flag}", f.label);
        for (grade, name, km, as_match, explain) in &f.top {
            let km = km.map_or(String::new(), |d| format!(" {d:.1} km"));
            let partial = if *as_match { "" } else { " (partial)" };
            println!("        {grade} {name}{km}{partial}");
            if let Some(e) = explain {
                println!("            {e}");
            }
        }
    }
    println!();
    for line in summary.lines() {
        println!("{line}");
    }
    if let Some(path) = tsv {
        let rows: String = figures.iter().map(|f| format!("{}\t{}\n", f.ndcg5.map_or(-1.0, |n| n), f.label)).collect();
        std::fs::write(&path, rows).expect("write tsv");
    }
}
