//! The README and `docs/` stand on their own in a clone: every relative
//! link resolves to a file of the repository (and a heading, when it names
//! one), and `docs/api.md` lists exactly the operations the OpenAPI
//! document describes.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every Markdown file under docs/.
fn documents() -> Vec<PathBuf> {
    let root = repository();
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The lines outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// The targets of inline links `[text](target)` in `text`.
fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in prose(text) {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            found.push(after[..end].trim().to_string());
            rest = &after[end..];
        }
    }
    found
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
/// as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(file: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(file).unwrap();
    prose(&text)
        .into_iter()
        .filter(|l| l.starts_with('#'))
        .map(|l| anchor(l.trim_start_matches('#')))
        .collect()
}

/// `path` with `.` and `..` resolved without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// What is wrong with `target`, linked from `file`, if anything.
fn broken(file: &Path, target: &str) -> Option<String> {
    if ["http://", "https://", "mailto:"]
        .iter()
        .any(|scheme| target.starts_with(scheme))
    {
        return None;
    }
    let (path, fragment) = target.split_once('#').unwrap_or((target, ""));
    let resolved = if path.is_empty() {
        file.to_path_buf()
    } else {
        normalise(&file.parent().unwrap().join(path))
    };
    if !resolved.starts_with(repository()) {
        return Some("points outside the repository".into());
    }
    if !resolved.exists() {
        return Some("no such file".into());
    }
    let is_markdown = resolved.extension().is_some_and(|e| e == "md");
    if !fragment.is_empty() && is_markdown && !anchors(&resolved).contains(fragment) {
        return Some(format!("no heading #{fragment}"));
    }
    None
}

#[test]
fn every_relative_link_in_the_readme_and_docs_resolves_inside_the_repository() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in documents() {
        let text = std::fs::read_to_string(&file).unwrap();
        for target in links(&text) {
            checked += 1;
            if let Some(problem) = broken(&file, &target) {
                problems.push(format!("{}: ({target}) {problem}", file.display()));
            }
        }
    }
    assert!(checked > 20, "the link finder finds links ({checked})");
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_link_check_catches_what_a_clone_would_not_have() {
    let readme = repository().join("README.md");
    assert_eq!(
        broken(&readme, "../shared/API.md").as_deref(),
        Some("points outside the repository")
    );
    assert_eq!(
        broken(&readme, "docs/missing.md").as_deref(),
        Some("no such file")
    );
    assert_eq!(
        broken(&readme, "docs/operations.md#no-such-heading").as_deref(),
        Some("no heading #no-such-heading")
    );
    assert_eq!(broken(&readme, "docs/operations.md#the-database"), None);
    assert_eq!(broken(&readme, "https://example.com/x"), None);
    assert_eq!(
        links("see [a](docs/a.md) and [b](#b)\n```\n[c](nowhere)\n```\n"),
        ["docs/a.md", "#b"]
    );
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The (method, path) pairs of docs/api.md's tables: rows whose first cell
/// is methods and second cell paths, both comma-separated.
fn documented_operations() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(repository().join("docs/api.md")).unwrap();
    let mut operations = BTreeSet::new();
    for line in prose(&text) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[0].is_empty() {
            continue;
        }
        let methods: Vec<&str> = cells[1].split(',').map(str::trim).collect();
        if !methods.iter().all(|m| METHODS.contains(m)) {
            continue;
        }
        for path in cells[2].split(',').map(str::trim) {
            for method in &methods {
                operations.insert((method.to_string(), path.to_string()));
            }
        }
    }
    operations
}

fn openapi_operations() -> BTreeSet<(String, String)> {
    let document = api::openapi::document();
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let path = path.strip_prefix("/api/v1").unwrap_or(path);
        for method in item.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            if METHODS.contains(&method.as_str()) {
                operations.insert((method, path.to_string()));
            }
        }
    }
    operations
}

#[test]
fn docs_api_md_lists_exactly_the_operations_of_the_openapi_document() {
    let documented = documented_operations();
    let described = openapi_operations();
    assert!(described.len() > 50, "{}", described.len());

    let undocumented: Vec<_> = described.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&described).collect();

    assert!(
        undocumented.is_empty(),
        "in the OpenAPI document, not in docs/api.md: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "in docs/api.md, not in the OpenAPI document: {unserved:?}"
    );
}
