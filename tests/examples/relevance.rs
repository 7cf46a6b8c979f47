//! Prints the relevance figures of directory search over the judged query set
//! (`tests/data/judged-queries.txt`), then every query's top five with their grades.
//!
//! `cargo run -p tests --example relevance` (add `-- --explain` for each result's explanation,
//! `-- --tsv FILE` to write each query's nDCG@5 for comparing two runs, `-- --sweep` to run the
//! whole set under each of a grid of blend settings and print one table row each).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/e2e/relevance_eval/mod.rs"]
mod relevance_eval;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let explain = args.iter().any(|a| a == "--explain");
    let tsv = args.iter().position(|a| a == "--tsv").and_then(|i| args.get(i + 1)).cloned();
    let region = relevance_eval::Region::new();
    if args.iter().any(|a| a == "--sweep") {
        sweep(&region);
        return;
    }
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

/// The whole judged set under each blend setting of a grid: distance scale, close-match
/// threshold and the freshness factor of a listing unverified for six months, then the
/// distance floor alone. Chosen by the figures over the whole set, never by single queries.
fn sweep(region: &relevance_eval::Region) {
    use search_index::Blend;
    println!("| distance scale km | floor | close from | stale | nDCG@5 | hit@1 | P@3 | nearest first | unrelated shown | 'nothing close' though one fits |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let row = |blend: Blend| {
        search_index::set_blend(blend);
        let (_, s) = relevance_eval::run(region, false);
        println!(
            "| {} | {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            blend.distance_scale_km,
            blend.distance_floor,
            blend.close_fit,
            blend.stale,
            s.ndcg5,
            s.hit1,
            s.p3,
            s.nearest_first,
            s.unrelated_shown,
            s.false_alarm
        );
    };
    let d = Blend::DEFAULT;
    for distance_scale_km in [4.0, 8.0, 12.0, 16.0] {
        for close_fit in [0.4, 0.5, 0.6] {
            for stale in [0.55, 0.8, 0.9] {
                row(Blend { distance_scale_km, close_fit, stale, ..d });
            }
        }
    }
    for distance_floor in [0.2, 0.4, 0.5] {
        row(Blend { distance_floor, ..d });
    }
    search_index::set_blend(d);
}
