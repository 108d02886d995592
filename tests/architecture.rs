//! The shape of the code, checked on every CI run: the engine's top-level
//! modules form a DAG (no import cycles), and no production function is over
//! 120 lines. Production code is what the crate roots reach through `mod`
//! declarations, minus `#[cfg(test)]` items and `#[test]` functions, so test
//! modules (inline or in their own files) are never measured.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The longest a production function may be, signature to closing brace.
const MAX_FUNCTION_LINES: usize = 120;

/// The crate roots whose functions are measured; a missing one (the model
/// crate before it exists) is skipped.
const MEASURED_ROOTS: &[&str] = &[
    "engine/src/lib.rs",
    "dsl/src/lib.rs",
    "model/src/lib.rs",
    "src/main.rs",
];

#[test]
fn engine_modules_form_a_dag() {
    let files = checker::production_files(&Path::new(ROOT).join("engine/src/lib.rs"));
    let graph = checker::module_graph(&files);
    let cycles = checker::cycles(&graph);
    assert!(
        cycles.is_empty(),
        "import cycles between engine modules (each `a -> b` is a `crate::b` path in a):\n{}",
        cycles
            .iter()
            .map(|cycle| format!(
                "  {}  (modules tangled with it: {})",
                cycle.path.join(" -> "),
                cycle.tangle.iter().cloned().collect::<Vec<_>>().join(", ")
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn no_production_function_is_over_120_lines() {
    let mut offenders = Vec::new();
    for root in MEASURED_ROOTS {
        let root = Path::new(ROOT).join(root);
        if !root.exists() {
            continue;
        }
        for file in checker::production_files(&root) {
            let shown = file.path.strip_prefix(ROOT).unwrap_or(&file.path);
            for long in checker::long_functions(&file.syntax, MAX_FUNCTION_LINES) {
                offenders.push(format!(
                    "  {}:{}:{}",
                    shown.display(),
                    long.name,
                    long.lines
                ));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "production functions over {MAX_FUNCTION_LINES} lines (file:function:lines):\n{}",
        offenders.join("\n")
    );
}

/// The checks themselves, on sources given as text so they can be tested.
mod checker {
    use super::*;

    /// One source file of a crate, parsed, with its module path from the
    /// crate root (`["registry", "matching"]`; empty for the root itself).
    pub struct SourceFile {
        pub path: PathBuf,
        pub module: Vec<String>,
        pub syntax: syn::File,
    }

    /// An import cycle, and every module reachable both from and to it.
    #[derive(Debug)]
    pub struct Cycle {
        pub path: Vec<String>,
        pub tangle: BTreeSet<String>,
    }

    /// A function over the limit.
    #[derive(Debug, PartialEq)]
    pub struct LongFunction {
        pub name: String,
        pub lines: usize,
    }

    /// Every file the crate root reaches through `mod name;` declarations
    /// outside `#[cfg(test)]`, so test-only files are left out.
    pub fn production_files(root: &Path) -> Vec<SourceFile> {
        let mut files = Vec::new();
        let dir = root
            .parent()
            .expect("a crate root has a folder")
            .to_path_buf();
        collect(root, dir, Vec::new(), &mut files);
        files
    }

    fn parse(path: &Path) -> syn::File {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        syn::parse_file(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
    }

    /// Reads `path` (module `module`, whose child modules live in `dir`)
    /// and every module file it declares.
    fn collect(path: &Path, dir: PathBuf, module: Vec<String>, files: &mut Vec<SourceFile>) {
        let syntax = parse(path);
        let mut children = Vec::new();
        declared_modules(&syntax.items, &dir, &module, &mut children);
        files.push(SourceFile {
            path: path.to_path_buf(),
            module,
            syntax,
        });
        for (file, child_dir, child_module) in children {
            collect(&file, child_dir, child_module, files);
        }
    }

    /// The files of `mod name;` declarations among `items`, descending into
    /// inline modules; each with the folder of its own children.
    fn declared_modules(
        items: &[syn::Item],
        dir: &Path,
        module: &[String],
        out: &mut Vec<(PathBuf, PathBuf, Vec<String>)>,
    ) {
        for item in items {
            let syn::Item::Mod(declared) = item else {
                continue;
            };
            if is_test_only(&declared.attrs) {
                continue;
            }
            let name = declared.ident.to_string();
            let mut child_module = module.to_vec();
            child_module.push(name.clone());
            match &declared.content {
                Some((_, inner)) => declared_modules(inner, &dir.join(&name), &child_module, out),
                None => {
                    let flat = dir.join(format!("{name}.rs"));
                    let file = if flat.exists() {
                        flat
                    } else {
                        dir.join(&name).join("mod.rs")
                    };
                    assert!(file.exists(), "module {name} declared in {}", dir.display());
                    out.push((file, dir.join(&name), child_module));
                }
            }
        }
    }

    /// `#[cfg(test)]` or `#[test]`: code that only the test build compiles.
    pub fn is_test_only(attrs: &[syn::Attribute]) -> bool {
        attrs.iter().any(|attr| {
            if attr.path().is_ident("test") {
                return true;
            }
            attr.path().is_ident("cfg")
                && attr
                    .parse_args::<syn::Ident>()
                    .is_ok_and(|ident| ident == "test")
        })
    }

    /// Top-level module → the other top-level modules its files name, from
    /// `crate::`, `self::` and `super::` paths in production code.
    pub fn module_graph(files: &[SourceFile]) -> BTreeMap<String, BTreeSet<String>> {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in files {
            let Some(top) = file.module.first() else {
                continue; // the crate root only declares and re-exports
            };
            let targets = graph.entry(top.clone()).or_default();
            for target in referenced_modules(&file.module, &file.syntax) {
                if &target != top {
                    targets.insert(target);
                }
            }
        }
        graph
    }

    /// The top-level modules that production code in a file of module
    /// `module` names by path.
    pub fn referenced_modules(module: &[String], syntax: &syn::File) -> BTreeSet<String> {
        let mut visitor = PathCollector {
            module: module.to_vec(),
            paths: Vec::new(),
        };
        visitor.visit_file(syntax);
        visitor
            .paths
            .iter()
            .filter_map(|(from, path)| top_level_target(from, path))
            .collect()
    }

    /// The top-level module a path starting at module `from` lands in, if it
    /// is one of this crate's (a path through the crate root).
    fn top_level_target(from: &[String], path: &[String]) -> Option<String> {
        let first = path.first()?;
        let (base, rest): (&[String], &[String]) = match first.as_str() {
            "crate" => (&[], &path[1..]),
            "self" => (from, &path[1..]),
            "super" => {
                let ups = path.iter().take_while(|s| *s == "super").count();
                (&from[..from.len().checked_sub(ups)?], &path[ups..])
            }
            _ => return None, // an extern crate or a name in scope
        };
        match base.first() {
            Some(top) => Some(top.clone()),
            None => rest.first().filter(|name| *name != "*").cloned(),
        }
    }

    /// Collects every path in production code with the module it is
    /// written in: `use` trees flattened, paths in types and expressions,
    /// and `crate::a::b` token runs inside macro calls.
    struct PathCollector {
        module: Vec<String>,
        paths: Vec<(Vec<String>, Vec<String>)>,
    }

    impl PathCollector {
        fn record(&mut self, path: Vec<String>) {
            self.paths.push((self.module.clone(), path));
        }

        fn flatten_use(&mut self, prefix: Vec<String>, tree: &syn::UseTree) {
            let extended = |name: String| {
                let mut path = prefix.clone();
                path.push(name);
                path
            };
            match tree {
                syn::UseTree::Path(p) => self.flatten_use(extended(p.ident.to_string()), &p.tree),
                syn::UseTree::Name(n) => self.record(extended(n.ident.to_string())),
                syn::UseTree::Rename(r) => self.record(extended(r.ident.to_string())),
                syn::UseTree::Glob(_) => self.record(extended("*".to_string())),
                syn::UseTree::Group(g) => {
                    for item in &g.items {
                        self.flatten_use(prefix.clone(), item);
                    }
                }
            }
        }
    }

    impl<'ast> Visit<'ast> for PathCollector {
        fn visit_item(&mut self, item: &'ast syn::Item) {
            if !item_attrs(item).is_some_and(|attrs| is_test_only(attrs)) {
                syn::visit::visit_item(self, item);
            }
        }

        fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
            self.module.push(item.ident.to_string());
            syn::visit::visit_item_mod(self, item);
            self.module.pop();
        }

        fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
            if !is_test_only(&item.attrs) {
                syn::visit::visit_impl_item_fn(self, item);
            }
        }

        fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
            self.flatten_use(Vec::new(), &item.tree);
        }

        fn visit_path(&mut self, path: &'ast syn::Path) {
            self.record(path.segments.iter().map(|s| s.ident.to_string()).collect());
            syn::visit::visit_path(self, path);
        }

        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            let tokens: Vec<proc_macro2::TokenTree> = flatten_tokens(mac.tokens.clone());
            for (i, token) in tokens.iter().enumerate() {
                if let proc_macro2::TokenTree::Ident(ident) = token
                    && ident == "crate"
                    && let Some(name) = ident_after_path_separator(&tokens[i + 1..])
                {
                    self.record(vec!["crate".to_string(), name]);
                }
            }
            syn::visit::visit_macro(self, mac);
        }
    }

    /// The tokens of a stream with groups opened, in order.
    fn flatten_tokens(stream: proc_macro2::TokenStream) -> Vec<proc_macro2::TokenTree> {
        let mut out = Vec::new();
        for token in stream {
            match token {
                proc_macro2::TokenTree::Group(group) => out.extend(flatten_tokens(group.stream())),
                other => out.push(other),
            }
        }
        out
    }

    /// `:: name` at the start of `tokens`: the name.
    fn ident_after_path_separator(tokens: &[proc_macro2::TokenTree]) -> Option<String> {
        match tokens {
            [
                proc_macro2::TokenTree::Punct(a),
                proc_macro2::TokenTree::Punct(b),
                proc_macro2::TokenTree::Ident(name),
                ..,
            ] if a.as_char() == ':' && b.as_char() == ':' => Some(name.to_string()),
            _ => None,
        }
    }

    fn item_attrs(item: &syn::Item) -> Option<&Vec<syn::Attribute>> {
        Some(match item {
            syn::Item::Const(i) => &i.attrs,
            syn::Item::Enum(i) => &i.attrs,
            syn::Item::ExternCrate(i) => &i.attrs,
            syn::Item::Fn(i) => &i.attrs,
            syn::Item::ForeignMod(i) => &i.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Macro(i) => &i.attrs,
            syn::Item::Mod(i) => &i.attrs,
            syn::Item::Static(i) => &i.attrs,
            syn::Item::Struct(i) => &i.attrs,
            syn::Item::Trait(i) => &i.attrs,
            syn::Item::TraitAlias(i) => &i.attrs,
            syn::Item::Type(i) => &i.attrs,
            syn::Item::Union(i) => &i.attrs,
            syn::Item::Use(i) => &i.attrs,
            _ => return None,
        })
    }

    /// One cycle per strongly connected component of more than one module
    /// (breaking that cycle may leave others in the component: the next run
    /// names them).
    pub fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Cycle> {
        components(graph)
            .into_iter()
            .filter(|component| component.len() > 1)
            .map(|component| Cycle {
                path: cycle_within(graph, &component),
                tangle: component,
            })
            .collect()
    }

    /// Strongly connected components (Kosaraju: finish order on the graph,
    /// then reachability on the reversed graph).
    fn components(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
        fn finish<'a>(
            node: &'a str,
            graph: &'a BTreeMap<String, BTreeSet<String>>,
            seen: &mut BTreeSet<&'a str>,
            order: &mut Vec<&'a str>,
        ) {
            if !seen.insert(node) {
                return;
            }
            for next in graph.get(node).into_iter().flatten() {
                finish(next, graph, seen, order);
            }
            order.push(node);
        }
        let mut reversed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut nodes: BTreeSet<&str> = BTreeSet::new();
        for (from, targets) in graph {
            nodes.insert(from);
            for to in targets {
                nodes.insert(to);
                reversed.entry(to.clone()).or_default().insert(from.clone());
            }
        }
        let (mut seen, mut order) = (BTreeSet::new(), Vec::new());
        for node in &nodes {
            finish(node, graph, &mut seen, &mut order);
        }
        let mut assigned: BTreeSet<&str> = BTreeSet::new();
        let mut out = Vec::new();
        for node in order.into_iter().rev() {
            let (mut component_seen, mut members) = (BTreeSet::new(), Vec::new());
            let mut stack = vec![node];
            while let Some(n) = stack.pop() {
                if assigned.contains(n) || !component_seen.insert(n) {
                    continue;
                }
                members.push(n);
                stack.extend(reversed.get(n).into_iter().flatten().map(String::as_str));
            }
            assigned.extend(members.iter().copied());
            if !members.is_empty() {
                out.push(members.into_iter().map(str::to_string).collect());
            }
        }
        out
    }

    /// A cycle through the component's first module, by breadth-first search
    /// inside the component back to it: `a -> b -> a`.
    fn cycle_within(
        graph: &BTreeMap<String, BTreeSet<String>>,
        component: &BTreeSet<String>,
    ) -> Vec<String> {
        let start = component.first().expect("a component has members");
        let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.as_str()]);
        while let Some(node) = queue.pop_front() {
            for next in graph.get(node).into_iter().flatten() {
                if !component.contains(next) {
                    continue;
                }
                if next == start {
                    let mut cycle = vec![node.to_string()];
                    let mut at = node;
                    while let Some(prev) = came_from.get(at) {
                        cycle.push(prev.to_string());
                        at = prev;
                    }
                    cycle.reverse();
                    cycle.push(start.clone());
                    return cycle;
                }
                if next != start && !came_from.contains_key(next.as_str()) {
                    came_from.insert(next, node);
                    queue.push_back(next);
                }
            }
        }
        unreachable!("a strongly connected component has a cycle through each member")
    }

    /// Production functions and methods longer than `limit` lines, counted
    /// from the `fn` signature to the closing brace (closures count toward
    /// the function they are written in).
    pub fn long_functions(syntax: &syn::File, limit: usize) -> Vec<LongFunction> {
        let mut visitor = LengthVisitor {
            owner: Vec::new(),
            limit,
            found: Vec::new(),
        };
        visitor.visit_file(syntax);
        visitor.found
    }

    struct LengthVisitor {
        /// The enclosing `impl` or `trait`'s type name, for method names.
        owner: Vec<String>,
        limit: usize,
        found: Vec<LongFunction>,
    }

    impl LengthVisitor {
        fn measure(&mut self, sig: &syn::Signature, body: &syn::Block) {
            let start = sig.fn_token.span.start().line;
            let end = body.brace_token.span.close().end().line;
            let lines = end - start + 1;
            if lines > self.limit {
                let name = match self.owner.last() {
                    Some(owner) => format!("{owner}::{}", sig.ident),
                    None => sig.ident.to_string(),
                };
                self.found.push(LongFunction { name, lines });
            }
        }
    }

    impl<'ast> Visit<'ast> for LengthVisitor {
        fn visit_item(&mut self, item: &'ast syn::Item) {
            if !item_attrs(item).is_some_and(|attrs| is_test_only(attrs)) {
                syn::visit::visit_item(self, item);
            }
        }

        fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
            self.measure(&item.sig, &item.block);
            syn::visit::visit_item_fn(self, item);
        }

        fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
            let owner = match &*item.self_ty {
                syn::Type::Path(p) => p
                    .path
                    .segments
                    .last()
                    .map_or_else(String::new, |s| s.ident.to_string()),
                _ => "impl".to_string(),
            };
            self.owner.push(owner);
            syn::visit::visit_item_impl(self, item);
            self.owner.pop();
        }

        fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
            self.owner.push(item.ident.to_string());
            syn::visit::visit_item_trait(self, item);
            self.owner.pop();
        }

        fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
            if !is_test_only(&item.attrs) {
                self.measure(&item.sig, &item.block);
                syn::visit::visit_impl_item_fn(self, item);
            }
        }

        fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
            if let Some(body) = &item.default {
                self.measure(&item.sig, body);
            }
            syn::visit::visit_trait_item_fn(self, item);
        }
    }
}

/// The checker on small inline sources: what it must catch and what it must
/// let pass.
mod checker_tests {
    use super::checker::{self, LongFunction, SourceFile};
    use std::collections::{BTreeMap, BTreeSet};

    fn file(module: &[&str], text: &str) -> SourceFile {
        SourceFile {
            path: format!("{}.rs", module.join("/")).into(),
            module: module.iter().map(|s| s.to_string()).collect(),
            syntax: syn::parse_file(text).expect("test source parses"),
        }
    }

    fn names(set: &BTreeSet<String>) -> Vec<&str> {
        set.iter().map(String::as_str).collect()
    }

    fn cycle_paths(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
        checker::cycles(graph).into_iter().map(|c| c.path).collect()
    }

    #[test]
    fn a_two_module_cycle_is_named() {
        let files = [
            file(&["run"], "use crate::sink::Sink; pub struct Report;"),
            file(&["sink"], "pub fn write(r: &crate::run::Report) {}"),
            file(&["store"], "use crate::run::Report;"),
        ];
        let cycles = cycle_paths(&checker::module_graph(&files));
        assert_eq!(cycles, vec![vec!["run", "sink", "run"]]);
    }

    #[test]
    fn a_three_module_cycle_is_named_in_edge_order() {
        let files = [
            file(&["diff"], "use crate::store::Fingerprint;"),
            file(&["integrity"], "use crate::store::Tx;"),
            file(&["store"], "use crate::{integrity::Check, plan};"),
            file(&["plan"], ""),
        ];
        let graph = checker::module_graph(&files);
        assert_eq!(names(&graph["store"]), ["integrity", "plan"]);
        assert_eq!(
            cycle_paths(&graph),
            vec![vec!["integrity", "store", "integrity"]]
        );
        let files = [
            file(&["a"], "use crate::b::X;"),
            file(&["b"], "use crate::c::X;"),
            file(&["c"], "use crate::a::X;"),
        ];
        let graph = checker::module_graph(&files);
        assert_eq!(cycle_paths(&graph), vec![vec!["a", "b", "c", "a"]]);
        let tangles: Vec<_> = checker::cycles(&graph)
            .into_iter()
            .map(|c| c.tangle)
            .collect();
        assert_eq!(tangles.len(), 1);
        assert_eq!(names(&tangles[0]), ["a", "b", "c"]);
    }

    #[test]
    fn a_dag_has_no_cycle() {
        let files = [
            file(&["run"], "use crate::{sink, store::Store};"),
            file(&["sink"], "use crate::store::Store;"),
            file(&["store"], "pub struct Store;"),
        ];
        assert!(checker::cycles(&checker::module_graph(&files)).is_empty());
    }

    #[test]
    fn super_paths_macros_and_nested_files_are_edges() {
        let files = [
            file(
                &["registry", "matching"],
                "use super::super::plan::Plan; fn f() { let _ = format!(\"{}\", crate::clock::now()); }",
            ),
            file(&["registry"], "use self::matching::X; use super::store;"),
        ];
        let graph = checker::module_graph(&files);
        assert_eq!(names(&graph["registry"]), ["clock", "plan", "store"]);
    }

    #[test]
    fn test_code_is_not_an_edge() {
        let files = [file(
            &["run"],
            "
            use crate::store::Store;
            #[cfg(test)]
            mod tests { use crate::sink::Sink; }
            #[cfg(test)]
            use crate::diff::Diff;
            #[test]
            fn t() { crate::plan::compile(); }
            ",
        )];
        assert_eq!(names(&checker::module_graph(&files)["run"]), ["store"]);
    }

    /// A function whose signature-to-brace span is `lines` long.
    fn function_of(name: &str, lines: usize) -> String {
        let mut text = format!("fn {name}() {{\n");
        for _ in 0..lines - 2 {
            text.push_str("    let _ = 1;\n");
        }
        text.push_str("}\n");
        text
    }

    #[test]
    fn a_121_line_function_is_flagged_and_120_is_not() {
        let text = format!("{}{}", function_of("long", 121), function_of("fits", 120));
        let syntax = syn::parse_file(&text).unwrap();
        assert_eq!(
            checker::long_functions(&syntax, 120),
            vec![LongFunction {
                name: "long".into(),
                lines: 121
            }]
        );
    }

    #[test]
    fn methods_are_named_by_their_type_and_test_code_is_not_measured() {
        let body = function_of("stream", 121).replace("fn stream", "pub fn stream");
        let text = format!(
            "/// doc\nimpl Runner {{\n{body}}}\ntrait T {{ {trait_fn} }}\n\
             #[cfg(test)]\nmod tests {{ {test_fn} }}\n#[test]\n{test_fn2}",
            trait_fn = function_of("provided", 130),
            test_fn = function_of("in_test_mod", 200),
            test_fn2 = function_of("a_test", 200),
        );
        let syntax = syn::parse_file(&text).unwrap();
        let found: BTreeMap<String, usize> = checker::long_functions(&syntax, 120)
            .into_iter()
            .map(|f| (f.name, f.lines))
            .collect();
        assert_eq!(
            found,
            BTreeMap::from([("Runner::stream".into(), 121), ("T::provided".into(), 130)])
        );
    }

    #[test]
    fn closures_count_toward_their_function() {
        let mut text = String::from("fn outer() {\n    let f = || {\n");
        for _ in 0..125 {
            text.push_str("        let _ = 1;\n");
        }
        text.push_str("    };\n    f();\n}\n");
        let syntax = syn::parse_file(&text).unwrap();
        let found = checker::long_functions(&syntax, 120);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "outer");
        assert_eq!(found[0].lines, 130);
    }
}
