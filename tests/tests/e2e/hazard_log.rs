//! The hazard log cannot drift from the code: every control in
//! `docs/clinical-safety/hazard-log.md` names a test (`path.rs::test_name`) that exists in the
//! named file as a test, or is marked `pending: #N` (the open issue building it); every hazard the clinical safety case must
//! cover is there, in the DCB0129 shape.

use std::path::{Path, PathBuf};

const LOG: &str = "docs/clinical-safety/hazard-log.md";

/// The hazards the issue requires, by a phrase each one's title holds.
const REQUIRED: &[&str] = &[
    "lost referral",
    "wrong service",
    "wrong person matched or merged",
    "duplicate case",
    "closed or stale group",
    "shown to a group without consent",
    "wrong person or with clinical content",
    "risk flag not seen",
    "unable to contact",
    "outcome measure mis-scored",
    "re-identifies",
    "gap in the audit trail",
    "hidden listing",
    "account taken over",
    "down during clinic hours",
];

/// Where each hazard must say something, in the DCB0129 shape.
const PARTS: &[&str] = &[
    "- **Hazard**:",
    "- **Causes**:",
    "- **Effect**:",
    "- **Initial risk**:",
    "- **Controls**:",
    "- **Residual risk**:",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The test citations in a piece of text: backticked `path.rs::name`.
fn citations(text: &str) -> Vec<(String, String)> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|span| {
            let (path, name) = span.split_once("::")?;
            let cited = (path.starts_with("tests/tests/e2e/") || path.starts_with("backend/src/"))
                && path.ends_with(".rs")
                && !name.is_empty()
                && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            cited.then(|| (path.to_string(), name.to_string()))
        })
        .collect()
}

/// Whether `file` has a test function `name`: `fn name(` marked `#[test]` just above it, or
/// inside a `proptest!` block.
fn has_test(file: &str, name: &str) -> bool {
    let lines: Vec<&str> = file.lines().collect();
    let proptest = file.find("proptest!");
    lines.iter().enumerate().any(|(i, line)| {
        let trimmed = line.trim_start();
        if !(trimmed.starts_with(&format!("fn {name}(")) || trimmed.starts_with(&format!("async fn {name}("))) {
            return false;
        }
        let marked = lines[i.saturating_sub(3)..i].iter().any(|l| l.trim() == "#[test]");
        let offset: usize = lines[..i].iter().map(|l| l.len() + 1).sum();
        marked || proptest.is_some_and(|p| p < offset)
    })
}

/// Everything wrong with a hazard log, read against the files under `root`.
fn problems(log: &str, root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let sections: Vec<&str> = log.split("\n### ").skip(1).collect();
    if sections.is_empty() {
        found.push("no hazards (### H01 ...)".to_string());
    }
    for section in &sections {
        let title = section.lines().next().unwrap_or("").trim().to_string();
        for part in PARTS {
            if !section.contains(part) {
                found.push(format!("{title}: no {part}"));
            }
        }
        let controls: Vec<&str> = section
            .split("- **Controls**:")
            .nth(1)
            .and_then(|rest| rest.split("- **Residual risk**:").next())
            .unwrap_or("")
            .split("\n  - ")
            .skip(1)
            .collect();
        if controls.is_empty() {
            found.push(format!("{title}: no controls"));
        }
        for control in controls {
            if citations(control).is_empty() && !is_pending(control) {
                found.push(format!("{title}: a control names no test: {}", control.lines().next().unwrap_or("")));
            }
        }
    }
    for (path, name) in citations(log) {
        match std::fs::read_to_string(root.join(&path)) {
            Err(_) => found.push(format!("{path}::{name}: no such file")),
            Ok(file) if !has_test(&file, &name) => found.push(format!("{path}::{name}: no such test in the file")),
            Ok(_) => {}
        }
    }
    let titles: Vec<String> = sections.iter().map(|s| s.lines().next().unwrap_or("").to_lowercase()).collect();
    for required in REQUIRED {
        if !titles.iter().any(|t| t.contains(required)) {
            found.push(format!("no hazard about \"{required}\""));
        }
    }
    found
}

#[test]
fn every_control_in_the_hazard_log_names_a_test_that_exists() {
    let log = std::fs::read_to_string(root().join(LOG)).expect("the hazard log");
    let found = problems(&log, &root());
    assert!(found.is_empty(), "the hazard log has drifted from the code:\n{}", found.join("\n"));
    assert!(citations(&log).len() >= 40, "controls cite their tests");
    // Every test file the log names is part of the suite.
    let suite = std::fs::read_to_string(root().join("tests/tests/e2e/main.rs")).unwrap();
    for (path, _) in citations(&log).into_iter().filter(|(p, _)| p.starts_with("tests/tests/e2e/")) {
        let module = path.trim_start_matches("tests/tests/e2e/").trim_end_matches(".rs");
        assert!(suite.contains(&format!("mod {module};")), "{path} is not in the e2e suite");
    }
}

#[test]
fn a_log_naming_a_test_that_does_not_exist_fails() {
    let log = std::fs::read_to_string(root().join(LOG)).unwrap();
    let real = "`tests/tests/e2e/referrals.rs::two_link_workers_accepting_at_once_exactly_one_wins`";
    assert!(log.contains(real));
    for (broken, why) in [
        ("`tests/tests/e2e/referrals.rs::two_link_workers_accepting_at_once_exactly_two_win`", "no such test"),
        ("`tests/tests/e2e/referrals.rs::referral_body`", "no such test"),
        ("`tests/tests/e2e/no_such_file.rs::two_link_workers_accepting_at_once_exactly_one_wins`", "no such file"),
        ("`backend/src/domain/measures.rs::ons4_answers`", "no such test"),
    ] {
        let found = problems(&log.replacen(real, broken, 1), &root());
        assert!(found.iter().any(|p| p.contains(why)), "{broken}: {found:?}");
    }
    // A control with neither a test nor `pending: #N`, and a hazard without its residual risk.
    let untested = log.replacen(&format!(" — {real}"), " — we are careful", 1);
    assert!(problems(&untested, &root()).iter().any(|p| p.contains("names no test")));
    let shapeless = log.replacen("- **Residual risk**: Significant, Low: 2.", "", 1);
    assert!(problems(&shapeless, &root()).iter().any(|p| p.contains("no - **Residual risk**:")));
    // A required hazard left out.
    let without = log.replace("### H13 The public seeing a hidden listing", "### H13 Something else");
    assert!(problems(&without, &root()).iter().any(|p| p.contains("hidden listing")));
    // A control still being built is accepted only as `pending: #N`.
    let pending = log.replacen(&format!(" — {real}"), " — pending: #15", 1);
    assert!(!problems(&pending, &root()).iter().any(|p| p.contains("names no test")));
    let vague = log.replacen(&format!(" — {real}"), " — pending", 1);
    assert!(problems(&vague, &root()).iter().any(|p| p.contains("names no test")));
}

/// `pending: #N`: a control whose issue is still open, named by its number.
fn is_pending(control: &str) -> bool {
    control.split("pending: #").skip(1).any(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}
