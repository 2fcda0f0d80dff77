//! The module references between the source files of one crate, read with `syn`: every `use`
//! declaration and every path of two or more segments (`crate::a::f()`, `super::B`,
//! `routes::auth::x` through a `use crate::routes`), resolved to the file that defines the
//! module it names. Re-exports are followed (`crate::Foo` where lib.rs has `pub use a::Foo`
//! points at a.rs, not lib.rs). Items under `#[cfg(test)]` are left out (test modules, and
//! whole files declared `#[cfg(test)] mod x;`): the graph is the production code's. Paths
//! inside macro invocations are not seen.

use std::collections::BTreeMap;

use syn::spanned::Spanned as _;
use syn::visit::Visit;

use super::cycles::Graph;

/// How deep re-exports and `use` aliases are followed.
const MAX_HOPS: usize = 8;

/// What the files of one crate say about its structure.
#[derive(Debug, Default)]
pub(crate) struct Analysis {
    /// File → files it references (itself excluded), test-only files left out.
    pub(crate) graph: Graph,
    /// Production files and their lines outside `#[cfg(test)]` items.
    pub(crate) production_lines: BTreeMap<String, usize>,
    /// Files that do not parse.
    pub(crate) errors: Vec<String>,
}

/// A module path inside the crate (`[]` is the crate root).
type ModPath = Vec<String>;

/// What one file declares and references.
#[derive(Debug, Default)]
struct FileFacts {
    module: ModPath,
    /// `use` paths and other paths, each with the module it appears in.
    references: Vec<(ModPath, Vec<String>)>,
    /// Names bound by the file's own `use` declarations: name → (module, path).
    bindings: BTreeMap<String, Vec<String>>,
    /// Modules declared `#[cfg(test)] mod x;` here.
    test_modules: Vec<ModPath>,
    lines: usize,
    test_lines: usize,
}

/// The module path of a file of `src/` (`a/b.rs` and `a/b/mod.rs` → `a::b`; lib.rs and
/// main.rs → the root). `None` for files of `src/bin/`.
pub(crate) fn module_path(file: &str) -> Option<ModPath> {
    let stem = file.strip_suffix(".rs")?;
    let mut parts: Vec<String> = stem.split('/').map(str::to_owned).collect();
    if parts.first().is_some_and(|p| p == "bin") {
        return None;
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        return Some(Vec::new());
    }
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    Some(parts)
}

/// Analyses the files of one crate's `src/` (path relative to `src/`, text). When both lib.rs
/// and main.rs exist, main.rs is another crate (the binary) and is left out.
pub(crate) fn analyse(files: &[(String, String)]) -> Analysis {
    let has_lib = files.iter().any(|(f, _)| f == "lib.rs");
    let mut analysis = Analysis::default();
    let mut facts: BTreeMap<String, FileFacts> = BTreeMap::new();
    for (file, text) in files {
        if has_lib && file == "main.rs" {
            continue;
        }
        let Some(module) = module_path(file) else {
            continue;
        };
        match syn::parse_file(text) {
            Ok(parsed) => {
                let mut collector = Collector {
                    facts: FileFacts {
                        module: module.clone(),
                        lines: text.lines().count(),
                        ..FileFacts::default()
                    },
                    context: module,
                };
                collector.visit_file(&parsed);
                facts.insert(file.clone(), collector.facts);
            }
            Err(e) => analysis.errors.push(format!("{file}: does not parse: {e}")),
        }
    }
    let test_modules: Vec<ModPath> = facts
        .values()
        .flat_map(|f| f.test_modules.iter().cloned())
        .collect();
    facts.retain(|_, f| !test_modules.iter().any(|t| f.module.starts_with(t)));
    let crate_ = Crate {
        modules: facts
            .iter()
            .map(|(file, f)| (f.module.clone(), file.clone()))
            .collect(),
        facts: &facts,
    };
    for (file, f) in &facts {
        analysis
            .production_lines
            .insert(file.clone(), f.lines.saturating_sub(f.test_lines));
        let targets = analysis.graph.entry(file.clone()).or_default();
        for (context, path) in &f.references {
            if let Some(target) = crate_.resolve(file, context, path)
                && target != *file
            {
                targets.insert(target);
            }
        }
    }
    analysis
}

struct Crate<'a> {
    modules: BTreeMap<ModPath, String>,
    facts: &'a BTreeMap<String, FileFacts>,
}

impl Crate<'_> {
    /// The file a path written in `file`, inside module `context`, refers to.
    fn resolve(&self, file: &str, context: &[String], path: &[String]) -> Option<String> {
        let mut absolute = self.absolute(file, context, path, 0)?;
        for _ in 0..MAX_HOPS {
            let (target, rest) = self.longest_module(&absolute)?;
            // A name the target module imports (a re-export): follow it to its definition.
            match rest.first().and_then(|name| {
                let facts = self.facts.get(target)?;
                let bound = facts.bindings.get(name)?;
                self.absolute(target, &facts.module, bound, 0)
            }) {
                Some(next) if next != absolute[..absolute.len() - rest.len() + 1] => {
                    let mut next = next;
                    next.extend_from_slice(&rest[1..]);
                    absolute = next;
                }
                _ => return Some(target.clone()),
            }
        }
        self.longest_module(&absolute).map(|(f, _)| f.clone())
    }

    /// The absolute module path of `path` as written in `file` inside `context`; `None` when it
    /// starts outside the crate (another crate, a type, a local name).
    fn absolute(
        &self,
        file: &str,
        context: &[String],
        path: &[String],
        hops: usize,
    ) -> Option<Vec<String>> {
        let first = path.first()?;
        let mut absolute: Vec<String> = match first.as_str() {
            "crate" => path[1..].to_vec(),
            "self" => [context, &path[1..]].concat(),
            "super" => {
                let ups = path.iter().take_while(|s| *s == "super").count();
                let base = context.get(..context.len().checked_sub(ups)?)?;
                [base, &path[ups..]].concat()
            }
            _ => {
                let child: ModPath = [context, &path[..1]].concat();
                if self.modules.contains_key(&child) {
                    [context, path].concat()
                } else {
                    let bound = self.facts.get(file)?.bindings.get(first)?;
                    if hops >= MAX_HOPS || bound.first() == Some(first) {
                        return None;
                    }
                    let module = &self.facts.get(file)?.module;
                    let mut resolved = self.absolute(file, module, bound, hops + 1)?;
                    resolved.extend_from_slice(&path[1..]);
                    resolved
                }
            }
        };
        absolute.retain(|s| s != "self");
        Some(absolute)
    }

    /// The file of the longest prefix of `path` that is a module, and the rest of the path.
    fn longest_module<'p>(&self, path: &'p [String]) -> Option<(&String, &'p [String])> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.modules.get(&path[..n]).map(|f| (f, &path[n..])))
    }
}

struct Collector {
    facts: FileFacts,
    /// The module being read (the file's, then its inline modules).
    context: ModPath,
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && matches!(&a.meta, syn::Meta::List(list) if list.tokens.to_string() == "test")
    })
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    use syn::Item;
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::ExternCrate(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::ForeignMod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::TraitAlias(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// The paths of a `use` tree, each with the name it binds (none for a glob).
fn flatten(
    tree: &syn::UseTree,
    prefix: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) if n.ident == "self" => {
            out.push((prefix.clone(), prefix.last().cloned()));
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            out.push((
                [prefix.as_slice(), std::slice::from_ref(&name)].concat(),
                Some(name),
            ));
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix.clone();
            if r.ident != "self" {
                path.push(r.ident.to_string());
            }
            out.push((path, Some(r.rename.to_string())));
        }
        syn::UseTree::Glob(_) => out.push((prefix.clone(), None)),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                flatten(t, prefix, out);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if is_cfg_test(item_attrs(item)) {
            let span = item.span();
            self.facts.test_lines += span.end().line + 1 - span.start().line;
            // A test module, inline or not: the files of its submodules (`mod use_cases;`
            // inside `#[cfg(test)] mod tests { … }`) are test code too.
            if let syn::Item::Mod(m) = item {
                self.facts
                    .test_modules
                    .push([self.context.as_slice(), &[m.ident.to_string()]].concat());
            }
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.context.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.context.pop();
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        if u.leading_colon.is_some() {
            return;
        }
        let mut paths = Vec::new();
        flatten(&u.tree, &mut Vec::new(), &mut paths);
        for (path, bound) in paths {
            if let Some(name) = bound
                && name != "_"
                && self.context == self.facts.module
            {
                self.facts.bindings.insert(name, path.clone());
            }
            self.facts.references.push((self.context.clone(), path));
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() && path.segments.len() >= 2 {
            let segments = path.segments.iter().map(|s| s.ident.to_string()).collect();
            self.facts.references.push((self.context.clone(), segments));
        }
        syn::visit::visit_path(self, path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::structure::cycles::cycles;

    fn files(sources: &[(&str, &str)]) -> Vec<(String, String)> {
        sources
            .iter()
            .map(|(f, t)| ((*f).to_owned(), (*t).to_owned()))
            .collect()
    }

    fn edges(a: &Analysis) -> Vec<String> {
        a.graph
            .iter()
            .flat_map(|(from, to)| to.iter().map(move |t| format!("{from} -> {t}")))
            .collect()
    }

    #[test]
    fn module_paths_follow_the_file_layout() {
        assert_eq!(module_path("lib.rs"), Some(vec![]));
        assert_eq!(module_path("a/mod.rs"), Some(vec!["a".to_owned()]));
        assert_eq!(
            module_path("a/b.rs"),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(module_path("bin/tool.rs"), None);
    }

    #[test]
    fn a_cycle_through_use_super_and_a_full_path_is_found() {
        let a = analyse(&files(&[
            ("lib.rs", "mod a; mod b; pub mod c;"),
            ("a.rs", "use crate::b::B; pub struct A;"),
            ("b.rs", "pub struct B; fn f() { let _ = crate::c::d::g(); }"),
            ("c/mod.rs", "pub mod d;"),
            ("c/d.rs", "use super::super::a::A; pub fn g() {}"),
        ]));
        assert!(a.errors.is_empty(), "{:?}", a.errors);
        assert_eq!(
            edges(&a),
            ["a.rs -> b.rs", "b.rs -> c/d.rs", "c/d.rs -> a.rs"]
        );
        assert_eq!(
            cycles(&a.graph),
            [vec![
                "a.rs".to_owned(),
                "b.rs".to_owned(),
                "c/d.rs".to_owned()
            ]]
        );
    }

    #[test]
    fn tests_self_references_and_other_crates_make_no_edge() {
        let a = analyse(&files(&[
            ("lib.rs", "mod a; mod b; #[cfg(test)] mod fakes;"),
            (
                "a.rs",
                "use std::fmt; use serde::Serialize; use self::inner::X; mod inner { pub struct X; }\n\
                 pub fn f() -> String { String::new() }\n\
                 #[cfg(test)]\nmod tests {\n    use crate::b::B;\n}\n",
            ),
            ("b.rs", "use crate::a::f; pub struct B;"),
            ("fakes.rs", "use crate::b::B;"),
        ]));
        assert_eq!(edges(&a), ["b.rs -> a.rs"]);
        assert!(cycles(&a.graph).is_empty());
        // The test module's four lines are not production lines; fakes.rs is test-only.
        assert_eq!(a.production_lines["a.rs"], 2);
        assert!(!a.production_lines.contains_key("fakes.rs"));
    }

    #[test]
    fn re_exports_and_aliases_are_followed_to_the_defining_file() {
        let a = analyse(&files(&[
            ("lib.rs", "mod a; mod b; mod c; pub use c::C;"),
            ("a.rs", "use crate::C; use crate::b; fn f() { b::g(); }"),
            ("b.rs", "pub fn g() {}"),
            ("c.rs", "pub struct C;"),
        ]));
        assert_eq!(
            edges(&a),
            ["a.rs -> b.rs", "a.rs -> c.rs", "lib.rs -> c.rs"]
        );
    }

    #[test]
    fn files_of_a_module_declared_inside_an_inline_test_module_are_test_code() {
        let a = analyse(&files(&[
            ("lib.rs", "mod a;"),
            (
                "a.rs",
                "pub fn f() {}\n#[cfg(test)]\nmod tests {\n    mod cases;\n}\n",
            ),
            ("a/tests/cases.rs", "use crate::a::f;\nfn g() { f(); }\n"),
        ]));
        assert_eq!(a.production_lines["a.rs"], 1);
        assert!(!a.production_lines.contains_key("a/tests/cases.rs"));
        assert!(edges(&a).is_empty(), "{:?}", edges(&a));
    }

    #[test]
    fn a_file_that_does_not_parse_is_reported() {
        let a = analyse(&files(&[("lib.rs", "fn (")]));
        assert_eq!(a.errors.len(), 1, "{:?}", a.errors);
    }
}
