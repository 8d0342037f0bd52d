//! Rust source discovery and measurement shared by `check` and `tcb`:
//! finding crates and their files, parsing with `syn`, and counting code
//! lines.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result};
use proc_macro2::{TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

/// One Cargo package found on disk.
#[derive(Clone, Debug)]
pub struct CrateInfo {
    /// The package name from `Cargo.toml`.
    pub name: String,
    /// The directory holding its `Cargo.toml`.
    pub dir: PathBuf,
    /// Crate root files of its library and binaries (`src/lib.rs`,
    /// `src/main.rs`, `src/bin/*.rs`, or the paths `Cargo.toml` names).
    pub roots: Vec<PathBuf>,
}

impl CrateInfo {
    /// Every `.rs` file of the package (nested packages and `target/` excluded).
    pub fn rust_files(&self) -> Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        walk_rs(&self.dir, &mut files)?;
        files.sort();
        Ok(files)
    }

    /// The `.rs` files that end up in the built library or binaries: those
    /// of [`rust_files`](Self::rust_files) outside `tests/`, `benches/`,
    /// `examples/` and the build script.
    pub fn product_files(&self) -> Result<Vec<PathBuf>> {
        let files = self.rust_files()?;
        Ok(files
            .into_iter()
            .filter(|f| {
                let rel = f.strip_prefix(&self.dir).unwrap_or(f);
                let first = rel.components().next().map(|c| c.as_os_str());
                let skipped_dir =
                    matches!(first, Some(d) if d == "tests" || d == "benches" || d == "examples");
                !skipped_dir && rel != Path::new("build.rs")
            })
            .collect())
    }
}

/// Finds every package (a `Cargo.toml` with a `[package]` table) under
/// `dir`, skipping `target/` and hidden directories. Sorted by directory.
pub fn find_crates(dir: &Path) -> Result<Vec<CrateInfo>> {
    let mut manifests = Vec::new();
    find_manifests(dir, &mut manifests)?;
    manifests.sort();
    let mut crates = Vec::new();
    for manifest in manifests {
        if let Some(info) = read_crate(&manifest)? {
            crates.push(info);
        }
    }
    Ok(crates)
}

fn skip_dir(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    name == "target" || name.starts_with('.')
}

fn find_manifests(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let manifest = dir.join("Cargo.toml");
    if manifest.is_file() {
        out.push(manifest);
    }
    for entry in read_dir_sorted(dir)? {
        if entry.is_dir() && !skip_dir(&entry) {
            find_manifests(&entry, out)?;
        }
    }
    Ok(())
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = fs::read_dir(dir)
        .with_context(|| format!("reading directory {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("reading directory {}", dir.display()))?;
    entries.sort();
    Ok(entries)
}

fn read_crate(manifest: &Path) -> Result<Option<CrateInfo>> {
    let text =
        fs::read_to_string(manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", manifest.display()))?;
    let Some(package) = table.get("package").and_then(|p| p.as_table()) else {
        return Ok(None);
    };
    let name = package
        .get("name")
        .and_then(|n| n.as_str())
        .with_context(|| format!("{}: [package] has no name", manifest.display()))?
        .to_string();
    let dir = manifest.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut roots = BTreeSet::new();
    let lib_path = table
        .get("lib")
        .and_then(|l| l.get("path"))
        .and_then(|p| p.as_str());
    match lib_path {
        Some(path) => {
            roots.insert(dir.join(path));
        }
        None if dir.join("src/lib.rs").is_file() => {
            roots.insert(dir.join("src/lib.rs"));
        }
        None => {}
    }
    if dir.join("src/main.rs").is_file() {
        roots.insert(dir.join("src/main.rs"));
    }
    for bin in table
        .get("bin")
        .and_then(|b| b.as_array())
        .into_iter()
        .flatten()
    {
        if let Some(path) = bin.get("path").and_then(|p| p.as_str()) {
            roots.insert(dir.join(path));
        }
    }
    let bin_dir = dir.join("src/bin");
    if bin_dir.is_dir() {
        for entry in read_dir_sorted(&bin_dir)? {
            if entry.extension().is_some_and(|e| e == "rs") {
                roots.insert(entry);
            } else if entry.join("main.rs").is_file() {
                roots.insert(entry.join("main.rs"));
            }
        }
    }
    Ok(Some(CrateInfo {
        name,
        dir,
        roots: roots.into_iter().collect(),
    }))
}

/// Every `.rs` file under `dir`, sorted, skipping `target/`, hidden
/// directories, directories of other packages and anything under `excludes`.
pub fn rust_files_under(dir: &Path, excludes: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    walk_all_rs(dir, excludes, &mut files)?;
    files.sort();
    Ok(files)
}

fn walk_all_rs(dir: &Path, excludes: &[PathBuf], out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in read_dir_sorted(dir)? {
        if excludes.contains(&entry) {
            continue;
        }
        if entry.is_dir() {
            if !skip_dir(&entry) {
                walk_all_rs(&entry, excludes, out)?;
            }
        } else if entry.extension().is_some_and(|e| e == "rs") {
            out.push(entry);
        }
    }
    Ok(())
}

fn walk_rs(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in read_dir_sorted(dir)? {
        if entry.is_dir() {
            // A nested package is its own crate.
            if !skip_dir(&entry) && !entry.join("Cargo.toml").is_file() {
                walk_rs(&entry, out)?;
            }
        } else if entry.extension().is_some_and(|e| e == "rs") {
            out.push(entry);
        }
    }
    Ok(())
}

/// A parsed source file.
pub struct SourceFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// Its syntax tree.
    pub ast: syn::File,
}

impl SourceFile {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let text =
            fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(path, text)
    }

    /// Parses `text` as if read from `path`.
    pub fn parse(path: &Path, text: String) -> Result<Self> {
        let ast = syn::parse_file(&text).map_err(|e| {
            let at = e.span().start();
            anyhow::anyhow!("{}:{}:{}: {e}", path.display(), at.line, at.column + 1)
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            text,
            ast,
        })
    }

    /// The 1-based line `line` of the text (empty past the end).
    pub fn line(&self, line: usize) -> &str {
        line.checked_sub(1)
            .and_then(|i| self.text.lines().nth(i))
            .unwrap_or("")
    }
}

/// Whether an attribute is `#[cfg(test)]` (or a `cfg(all(test, ...))`) or
/// `#[test]`: code that only exists in test builds.
pub fn is_test_only(attr: &syn::Attribute) -> bool {
    let path = attr.path();
    if path.is_ident("test") {
        return true;
    }
    if !path.is_ident("cfg") {
        return false;
    }
    let Ok(list) = attr.meta.require_list() else {
        return false;
    };
    cfg_requires_test(list.tokens.clone())
}

fn cfg_requires_test(tokens: TokenStream) -> bool {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    match trees.as_slice() {
        [TokenTree::Ident(id)] => id == "test",
        [TokenTree::Ident(id), TokenTree::Group(g)] if id == "all" => g
            .stream()
            .into_iter()
            .any(|t| matches!(&t, TokenTree::Ident(i) if i == "test")),
        _ => false,
    }
}

/// 1-based inclusive line ranges of test-only items (`#[cfg(test)]`
/// modules and functions, `#[test]` functions), attributes included.
pub fn test_only_ranges(file: &syn::File) -> Vec<(usize, usize)> {
    struct Finder(Vec<(usize, usize)>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_item(&mut self, item: &'ast syn::Item) {
            if item_attrs(item).iter().any(is_test_only) {
                let span = item.span();
                self.0.push((span.start().line, span.end().line));
            } else {
                visit::visit_item(self, item);
            }
        }
        fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
            let attrs: &[syn::Attribute] = match item {
                syn::ImplItem::Fn(f) => &f.attrs,
                syn::ImplItem::Const(c) => &c.attrs,
                syn::ImplItem::Type(t) => &t.attrs,
                syn::ImplItem::Macro(m) => &m.attrs,
                _ => &[],
            };
            if attrs.iter().any(is_test_only) {
                let span = item.span();
                self.0.push((span.start().line, span.end().line));
            } else {
                visit::visit_impl_item(self, item);
            }
        }
    }
    let mut finder = Finder(Vec::new());
    finder.visit_file(file);
    finder.0
}

/// The outer attributes of an item.
pub fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    use syn::Item::*;
    match item {
        Const(i) => &i.attrs,
        Enum(i) => &i.attrs,
        ExternCrate(i) => &i.attrs,
        Fn(i) => &i.attrs,
        ForeignMod(i) => &i.attrs,
        Impl(i) => &i.attrs,
        Macro(i) => &i.attrs,
        Mod(i) => &i.attrs,
        Static(i) => &i.attrs,
        Struct(i) => &i.attrs,
        Trait(i) => &i.attrs,
        TraitAlias(i) => &i.attrs,
        Type(i) => &i.attrs,
        Union(i) => &i.attrs,
        Use(i) => &i.attrs,
        _ => &[],
    }
}

/// Counts code lines: lines holding at least one token that is not a
/// comment (doc comments included), excluding test-only items. Blank lines
/// and comment-only lines do not count; a line of only `}` does.
pub fn code_lines(source: &SourceFile) -> Result<usize> {
    let tokens = TokenStream::from_str(&source.text)
        .map_err(|e| anyhow::anyhow!("{}: cannot tokenize: {e}", source.path.display()))?;
    let lines: Vec<&str> = source.text.lines().collect();
    let mut code = BTreeSet::new();
    mark_tokens(tokens, &lines, &mut code);
    let excluded = test_only_ranges(&source.ast);
    Ok(code
        .into_iter()
        .filter(|line| !excluded.iter().any(|(a, b)| a <= line && line <= b))
        .count())
}

/// Whether the source text at a token's start is a comment: doc comments
/// reach the token stream as `#[doc = ...]` tokens spanning the comment.
fn starts_with_comment(lines: &[&str], at: proc_macro2::LineColumn) -> bool {
    let Some(line) = at.line.checked_sub(1).and_then(|i| lines.get(i)) else {
        return false;
    };
    let rest: String = line.chars().skip(at.column).take(2).collect();
    rest == "//" || rest == "/*"
}

fn mark_span(span: proc_macro2::Span, lines: &[&str], code: &mut BTreeSet<usize>) {
    let (start, end) = (span.start(), span.end());
    if !starts_with_comment(lines, start) {
        code.extend(start.line..=end.line);
    }
}

fn mark_tokens(tokens: TokenStream, lines: &[&str], code: &mut BTreeSet<usize>) {
    for tree in tokens {
        match tree {
            TokenTree::Group(group) => {
                if !starts_with_comment(lines, group.span_open().start()) {
                    mark_span(group.span_open(), lines, code);
                    mark_span(group.span_close(), lines, code);
                }
                mark_tokens(group.stream(), lines, code);
            }
            other => mark_span(other.span(), lines, code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(src: &str) -> usize {
        let file = SourceFile::parse(Path::new("t.rs"), src.to_string()).unwrap();
        code_lines(&file).unwrap()
    }

    #[test]
    fn comments_and_blank_lines_do_not_count() {
        let src = "//! Crate docs.\n\
                   \n\
                   /// A function.\n\
                   /* block\n   comment */\n\
                   fn f() -> u32 { // trailing\n\
                       let s = \"// not a comment\";\n\
                       /** inner doc */\n\
                       s.len() as u32\n\
                   }\n";
        assert_eq!(count(src), 4);
    }

    #[test]
    fn multi_line_strings_count_every_line() {
        assert_eq!(count("const S: &str = \"a\nb\nc\";\n"), 3);
        assert_eq!(count("const S: &str = r#\"a\n/* b\nc\"#;\n"), 3);
    }

    #[test]
    fn test_modules_and_functions_are_excluded() {
        let src = "fn f() {}\n\
                   #[cfg(test)]\n\
                   mod tests {\n\
                       #[test]\n\
                       fn t() {}\n\
                   }\n\
                   /// doc\n\
                   #[test]\n\
                   fn loose() {\n\
                   }\n\
                   #[cfg(all(test, feature = \"x\"))]\n\
                   fn helper() {}\n\
                   #[cfg(not(test))]\n\
                   fn real() {}\n";
        assert_eq!(count(src), 3);
    }
}
