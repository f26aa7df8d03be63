//! The layout of src/ as docs/architecture.md describes it: no two parts
//! import each other, directly or round a circle. A part is a module of
//! `controller` (with its children) or another top-level module; tests are
//! left out, as they may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;

/// The module path of a source file: src/controller/instance/reconcile/apply.rs is controller::instance::reconcile::apply.
fn module_of(file: &Path, src: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut path: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(path.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        path.pop();
    }
    path
}

/// The directories of `controller` that each hold one controller; their
/// modules are parts of their own, as the runtime's are.
const CONTROLLERS: [&str; 2] = ["instance", "instance_set"];

/// The part a module belongs to.
fn part_of(module: &[String]) -> Option<String> {
    match module {
        [] => None,
        [top, kind, child, ..] if top == "controller" && CONTROLLERS.contains(&kind.as_str()) => {
            Some(format!("controller::{kind}::{child}"))
        }
        [top, child, ..] if top == "controller" => Some(format!("controller::{child}")),
        [top, ..] => Some(top.clone()),
    }
}

/// The paths a use or a qualified name names, from just after its `crate::` or `super::`.
fn named_after(rest: &str) -> Vec<Vec<String>> {
    let rest = rest.trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 0;
        let end = group
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => return true,
                    '}' => depth -= 1,
                    _ => {}
                }
                false
            })
            .map_or(group.len(), |(i, _)| i);
        let (mut items, mut depth, mut start) = (Vec::new(), 0, 0);
        for (i, c) in group[..end].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&group[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.push(&group[start..end]);
        return items.into_iter().flat_map(named_after).collect();
    }
    let segments: Vec<String> = rest
        .split("::")
        .map(|s| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>())
        .take_while(|s| !s.is_empty())
        .collect();
    if segments.is_empty() { Vec::new() } else { vec![segments] }
}

/// The modules `file` refers to, as absolute paths from the crate root.
fn references(text: &str, module: &[String]) -> Vec<Vec<String>> {
    let parent = |levels: usize| module[..module.len().saturating_sub(levels)].to_vec();
    let pattern = Regex::new(r"\b(crate|super(?:::super)*)::").unwrap();
    let mut found = Vec::new();
    for m in pattern.find_iter(text) {
        let prefix = m.as_str().trim_end_matches("::");
        let base = match prefix {
            "crate" => Vec::new(),
            supers => parent(supers.matches("super").count()),
        };
        for named in named_after(&text[m.end()..]) {
            let mut absolute = base.clone();
            absolute.extend(named);
            found.push(absolute);
        }
    }
    found
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "tests" || name == "tests.rs" {
            continue;
        }
        if path.is_dir() {
            sources(&path, out);
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// Each part and the parts it imports.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = module_of(&file, &src);
        // The re-exports of a parent module join no circle.
        let Some(from) = part_of(&module) else { continue };
        if module.len() == 1 && module[0] == "controller" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let text = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        for reference in references(text, &module) {
            if let Some(to) = part_of(&reference).filter(|to| *to != from) {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

/// A circle through the graph, if there is one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut found = path[start..].to_vec();
            found.push(node.to_string());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_part_of_src_imports_a_part_that_imports_it_back() {
    let graph = imports();
    assert!(graph.contains_key("controller::instance::reconcile"), "the scan sees the controller: {graph:?}");
    if let Some(found) = circle(&graph) {
        panic!("an import circle in src/: {}", found.join(" -> "));
    }
}

#[test]
fn the_runtime_the_controllers_share_imports_no_controller() {
    let graph = imports();
    let is_controller = |part: &str| CONTROLLERS.iter().any(|kind| part.starts_with(&format!("controller::{kind}::")));
    assert!(graph.contains_key("controller::tenancy"), "the scan sees the runtime: {graph:?}");
    for (part, imported) in graph.iter().filter(|(part, _)| part.starts_with("controller::") && !is_controller(part)) {
        let reached: Vec<&String> = imported.iter().filter(|i| is_controller(i)).collect();
        assert!(reached.is_empty(), "the shared {part} imports a controller: {reached:?}");
    }
}

#[test]
fn the_scan_finds_a_circle_where_there_is_one() {
    let graph = BTreeMap::from([
        ("controller::run".to_string(), BTreeSet::from(["controller::reconcile".to_string()])),
        ("controller::reconcile".to_string(), BTreeSet::from(["controller::run".to_string()])),
    ]);
    assert!(circle(&graph).is_some());
    let module = ["controller".to_string(), "reconcile".to_string(), "apply".to_string()];
    let refs = references("use super::super::{run::Watched, context::{Context, Settings}};", &module);
    assert_eq!(refs, [vec!["controller", "run", "Watched"], vec!["controller", "context"]]);
    let refs = references("use super::{Ending, Reconcile};", &module);
    assert_eq!(refs, [vec!["controller", "reconcile", "Ending"], vec!["controller", "reconcile", "Reconcile"]]);
}
