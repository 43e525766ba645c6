//! The layers of docs/architecture.md, checked in the imports of src/: a
//! claim of the document that the code breaks fails here.
//!
//! Each file's `use` and `crate::…` / `super::…` paths (outside its
//! `#[cfg(test)]` module) are resolved to the file that defines them. The
//! rules:
//! - no front end imports the other (`mix/` ↔ `muc/`);
//! - the channel service (`channel/`) imports no wire type (from
//!   `xmpp_parsers` only the `jid` addresses) and nothing above it;
//! - the store imports nothing of the domain, the wire or the front ends;
//! - the wire types (`xmpp/`) import nothing above them;
//! - front ends and the service context import neither the router nor the
//!   dispatcher, and the router not the dispatcher (arrows run downwards);
//! - the import (`import/`) names no layer of the running service above the
//!   store and the domain, and none of them names it;
//! - no cycle between files (a file's imports of its own folder's `mod.rs`,
//!   whose type it extends with an `impl` block, are not counted).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`["channel", "admin"]`) of every file under src/ but the
/// binaries, with the file's text up to its test module.
fn modules() -> BTreeMap<Vec<String>, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "bin") {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel: PathBuf = path.strip_prefix(&src).expect("under src/").to_path_buf();
            let mut module: Vec<String> = rel.with_extension("").iter().map(|c| c.to_string_lossy().into_owned()).collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                module.pop();
            }
            if rel == Path::new("main.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("a source file");
            let text = match text.find("#[cfg(test)]") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            out.insert(module, text);
        }
    }
    out
}

/// Every path a file names: `use` trees flattened, and `crate::…` /
/// `super::…` paths in its code. Each is a list of segments, `super`
/// resolved against `module` and `crate` dropped; `xmpp_parsers::…` paths
/// keep their crate name.
fn paths(module: &[String], text: &str) -> Vec<Vec<String>> {
    let code: String = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let mut found = Vec::new();
    // `use` statements (a line that starts one), with their braces expanded.
    let lines: Vec<&str> = code.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let l = line.trim_start();
        let l = l.strip_prefix("pub(crate) ").or_else(|| l.strip_prefix("pub(super) ")).or_else(|| l.strip_prefix("pub ")).unwrap_or(l);
        let Some(tree) = l.strip_prefix("use ") else { continue };
        let mut stmt = tree.to_string();
        let mut j = i;
        while !stmt.contains(';') && j + 1 < lines.len() {
            j += 1;
            stmt.push_str(lines[j]);
        }
        let end = stmt.find(';').unwrap_or(stmt.len());
        expand(&stmt[..end], &mut found);
    }
    // Paths in code: `crate::a::b`, `super::a`, `xmpp_parsers::a::b`.
    for start in ["crate::", "super::", "xmpp_parsers::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            if code[..at].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let tail: String = code[at..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            found.push(tail.split("::").filter(|s| !s.is_empty()).map(str::to_string).collect());
        }
    }
    found.into_iter().filter_map(|p| absolute(module, p)).collect()
}

/// Flattens one `use` tree (`a::{b, c::{d, e}}`) into paths.
fn expand(tree: &str, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(tree);
        out.push(path.split("::").map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect());
        return;
    };
    let prefix = tree[..open].trim_end_matches("::");
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut depth, mut last) = (0, 0);
    let mut parts = Vec::new();
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[last..i]);
                last = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[last..]);
    for part in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
        if part == "self" {
            expand(prefix, out);
        } else {
            expand(&format!("{prefix}::{part}"), out);
        }
    }
}

/// A path from the crate root, marked `crate` (`super` and `self`
/// resolved); other paths as they are: another crate's, or relative to the
/// module (`event::Event` in `channel/mod.rs`, resolved in `graph`).
fn absolute(module: &[String], path: Vec<String>) -> Option<Vec<String>> {
    let first = path.first()?.as_str();
    match first {
        "crate" => Some(std::iter::once("crate".to_string()).chain(path[1..].iter().cloned()).collect()),
        "super" => {
            let mut base = module.to_vec();
            let mut rest = path.as_slice();
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
            base.extend(rest.iter().cloned());
            Some(std::iter::once("crate".to_string()).chain(base).collect())
        }
        "self" => {
            let mut base = module.to_vec();
            base.extend(path[1..].iter().cloned());
            Some(std::iter::once("crate".to_string()).chain(base).collect())
        }
        "std" | "core" | "alloc" => None,
        _ => Some(path),
    }
}

/// The file (module path) a crate path lands in: its longest prefix that
/// is a module of ours. None for other crates.
fn target<'a>(mods: &'a BTreeMap<Vec<String>, String>, path: &[String]) -> Option<&'a Vec<String>> {
    (1..=path.len()).rev().find_map(|n| mods.get_key_value(&path[..n]).map(|(k, _)| k)).filter(|k| !k.is_empty())
}

fn under(module: &[String], top: &str) -> bool {
    module.first().map(String::as_str) == Some(top)
}

/// A named path and the file (module) it lands in; None for other crates.
type Named = (Vec<String>, Option<Vec<String>>);

struct Graph {
    mods: BTreeMap<Vec<String>, String>,
    /// module → what it names.
    uses: BTreeMap<Vec<String>, Vec<Named>>,
}

fn graph() -> Graph {
    let mods = modules();
    assert!(mods.len() > 50, "src/ was read: {} files", mods.len());
    let uses = mods
        .iter()
        .map(|(m, text)| {
            let named = paths(m, text).into_iter().map(|p| {
                let p = if p.first().map(String::as_str) == Some("crate") {
                    p[1..].to_vec()
                } else if p.first().is_some_and(|first| mods.contains_key(&[m.as_slice(), std::slice::from_ref(first)].concat())) {
                    [m.as_slice(), p.as_slice()].concat()
                } else {
                    p
                };
                let t = target(&mods, &p).cloned();
                (p, t)
            });
            (m.clone(), named.collect())
        })
        .collect();
    Graph { mods, uses }
}

fn name(m: &[String]) -> String {
    m.join("/")
}

/// Every (file, named path) where a file under `from` names something
/// under one of `forbidden`.
fn violations(g: &Graph, from: &str, forbidden: &[&str]) -> Vec<String> {
    let mut bad = Vec::new();
    for (m, named) in &g.uses {
        if !under(m, from) {
            continue;
        }
        for (p, t) in named {
            if let Some(t) = t {
                if forbidden.iter().any(|f| under(t, f)) {
                    bad.push(format!("{} names {}", name(m), p.join("::")));
                }
            }
        }
    }
    bad.sort();
    bad.dedup();
    bad
}

#[test]
fn the_parser_sees_the_imports_it_must_judge() {
    // The checks below are only as good as this: known imports are found.
    let g = graph();
    let of = |m: &str| g.uses.get(&m.split('/').map(str::to_string).collect::<Vec<_>>()).unwrap_or_else(|| panic!("module {m}"));
    let lands = |m: &str, t: &str| of(m).iter().any(|(_, to)| to.as_ref().is_some_and(|to| name(to) == t));
    assert!(lands("channel/admin", "channel/event"), "channel/admin.rs imports super::event::{{…}}");
    assert!(lands("channel/admin", "channel/roles"), "channel/admin.rs imports super::roles::{{…}}");
    assert!(lands("muc/render", "channel/roles"), "muc/render.rs imports crate::channel::roles::{{…}}");
    assert!(lands("router", "mix"), "router.rs imports crate::{{disco, mix, muc}}");
    assert!(lands("channel", "channel/event"), "channel/mod.rs imports event::Event (a relative path)");
    assert!(of("muc/presence").iter().any(|(p, _)| p.join("::") == "xmpp_parsers::stanza_error::DefinedCondition"));
    // A rule breaks when the code does: a made-up import is caught.
    let mut fake = Graph { mods: g.mods.clone(), uses: g.uses.clone() };
    let m = vec!["mix".to_string(), "join".to_string()];
    let p: Vec<String> = ["muc", "render", "occupant_jid"].iter().map(|s| s.to_string()).collect();
    let t = target(&fake.mods, &p).cloned();
    fake.uses.get_mut(&m).expect("mix/join").push((p, t));
    assert_eq!(violations(&fake, "mix", &["muc"]), vec!["mix/join names muc::render::occupant_jid".to_string()]);
}

#[test]
fn no_front_end_imports_the_other() {
    let g = graph();
    let mut bad = violations(&g, "mix", &["muc"]);
    bad.extend(violations(&g, "muc", &["mix"]));
    assert!(bad.is_empty(), "front ends calling each other:\n{}", bad.join("\n"));
}

#[test]
fn the_channel_service_knows_no_protocol() {
    let g = graph();
    let mut bad = violations(&g, "channel", &["xmpp", "mix", "muc", "disco", "mam", "router", "dispatch", "service", "link", "outgoing", "app"]);
    for (m, named) in g.uses.iter().filter(|(m, _)| under(m, "channel")) {
        for (p, _) in named {
            if p.first().map(String::as_str) == Some("xmpp_parsers") && p.get(1).map(String::as_str) != Some("jid") {
                bad.push(format!("{} names {}", name(m), p.join("::")));
            }
            if p.first().map(String::as_str).is_some_and(|c| ["minidom", "tokio_xmpp", "xso"].contains(&c)) {
                bad.push(format!("{} names {}", name(m), p.join("::")));
            }
        }
    }
    assert!(bad.is_empty(), "the domain naming protocols or layers above it:\n{}", bad.join("\n"));
}

#[test]
fn lower_layers_import_nothing_above_them() {
    let g = graph();
    let mut bad = violations(&g, "store", &["channel", "xmpp", "mix", "muc", "disco", "mam", "router", "dispatch", "service", "link", "outgoing", "app"]);
    bad.extend(violations(&g, "xmpp", &["channel", "store", "mix", "muc", "disco", "mam", "router", "dispatch", "service", "app"]));
    for front in ["mix", "muc", "disco", "mam", "adhoc", "service"] {
        bad.extend(violations(&g, front, &["router", "dispatch", "app"]));
    }
    bad.extend(violations(&g, "router", &["dispatch", "app"]));
    assert!(bad.is_empty(), "arrows running upwards:\n{}", bad.join("\n"));
}

/// `mixmuc import` (`import/`) writes through the store and converts with
/// the domain's pure helpers and the wire types' archive form; it is no
/// part of the running service, and nothing of the service names it.
#[test]
fn the_import_stands_beside_the_service() {
    let g = graph();
    // The graph sees import/'s own arrows (it writes through the store).
    assert!(!violations(&g, "import", &["store"]).is_empty(), "import/ not seen naming the store");
    let mut bad = violations(&g, "import", &["mix", "muc", "disco", "mam", "router", "dispatch", "service", "link", "outgoing", "app"]);
    for layer in ["store", "xmpp", "channel", "mix", "muc", "disco", "mam", "router", "dispatch", "service", "link", "outgoing", "app"] {
        bad.extend(violations(&g, layer, &["import"]));
    }
    assert!(bad.is_empty(), "the import and the service tangled:\n{}", bad.join("\n"));
}

#[test]
fn no_cycles_between_files() {
    let g = graph();
    let mut edges: BTreeMap<&Vec<String>, BTreeSet<&Vec<String>>> = BTreeMap::new();
    for (m, named) in &g.uses {
        for t in named.iter().filter_map(|(_, t)| t.as_ref()) {
            // A file and its own folder's mod.rs (the type it extends).
            let parent = &m[..m.len().saturating_sub(1)];
            if t == m || t.as_slice() == parent {
                continue;
            }
            edges.entry(m).or_default().insert(g.mods.get_key_value(t).expect("a module").0);
        }
    }
    // Files that reach each other are in one cycle: group them.
    let reach = |from: &Vec<String>| {
        let mut seen: BTreeSet<&Vec<String>> = BTreeSet::new();
        let mut todo: Vec<&Vec<String>> = edges.get(from).into_iter().flatten().copied().collect();
        while let Some(n) = todo.pop() {
            if seen.insert(n) {
                todo.extend(edges.get(n).into_iter().flatten().copied());
            }
        }
        seen
    };
    let reached: BTreeMap<&Vec<String>, BTreeSet<&Vec<String>>> = g.mods.keys().map(|m| (m, reach(m))).collect();
    let mut cycles: BTreeSet<Vec<String>> = BTreeSet::new();
    for (m, r) in &reached {
        if r.contains(m) {
            let mut group: Vec<String> = r.iter().filter(|o| reached[*o].contains(m)).map(|o| name(o)).collect();
            group.sort();
            cycles.insert(group);
        }
    }
    let cycles: Vec<String> = cycles.into_iter().map(|c| c.join(" ⇄ ")).collect();
    assert!(cycles.is_empty(), "files that import each other (directly or through others):\n{}", cycles.join("\n"));
}
