//! The framekernel rule and the `// SAFETY:` rule, checked on syntax trees.
//!
//! * Framekernel rule: in the guest, only the trusted crate (`vessel-rt`)
//!   may contain `unsafe` in any form. Every other guest crate must be free
//!   of `unsafe` blocks, functions, impls, traits, `extern` blocks,
//!   `unsafe(...)` attributes, symbol-placing attributes (`no_mangle`,
//!   `export_name`, `link_section`), inline/global assembly macros and
//!   `unsafe` tokens inside macros, and its crate roots must declare
//!   `#![forbid(unsafe_code)]`.
//! * SAFETY rule, everywhere (host and guest): every `unsafe` block and
//!   `unsafe impl` has a `// SAFETY:` comment just above it (above the
//!   block, or above the statement or item that contains it; only comment
//!   and attribute lines may sit in between).

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Result;
use proc_macro2::{Span, TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use crate::source::{self, SourceFile};

/// A kind of `unsafe` site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SiteKind {
    /// `unsafe { ... }`.
    Block,
    /// `unsafe fn`.
    Fn,
    /// `unsafe impl`.
    Impl,
    /// `unsafe trait`.
    Trait,
    /// An `extern { ... }` block (foreign declarations).
    ExternBlock,
    /// `#[unsafe(...)]`, `#[no_mangle]`, `#[export_name]`, `#[link_section]`.
    Attribute,
    /// `asm!`, `global_asm!`, `naked_asm!`, or `unsafe` inside macro tokens.
    Macro,
}

impl fmt::Display for SiteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SiteKind::Block => "unsafe block",
            SiteKind::Fn => "unsafe fn",
            SiteKind::Impl => "unsafe impl",
            SiteKind::Trait => "unsafe trait",
            SiteKind::ExternBlock => "extern block",
            SiteKind::Attribute => "unsafe attribute",
            SiteKind::Macro => "unsafe macro",
        })
    }
}

/// One place in the source where `unsafe` power is used or granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// What it is.
    pub kind: SiteKind,
    /// Detail, e.g. the attribute or macro name.
    pub detail: String,
    /// For blocks and impls: whether a `// SAFETY:` comment documents it.
    pub documented: bool,
}

/// A rule violation, reported as `file:line: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (0 when it concerns the whole file).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// Attributes that place symbols or code where the linker or other code
/// can reach them; each is unsafe to use (edition 2024 spells them
/// `#[unsafe(...)]`).
const UNSAFE_ATTRIBUTES: &[&str] = &["no_mangle", "export_name", "link_section"];
/// Macros that emit machine code the compiler cannot check.
const ASM_MACROS: &[&str] = &["asm", "global_asm", "naked_asm"];

/// Every `unsafe` site of one parsed file.
pub fn sites(file: &SourceFile) -> Vec<Site> {
    let mut finder = SiteFinder {
        file,
        context: Vec::new(),
        sites: Vec::new(),
    };
    finder.visit_file(&file.ast);
    finder.sites
}

struct SiteFinder<'a> {
    file: &'a SourceFile,
    /// Start lines of the enclosing items and statements, innermost last.
    context: Vec<usize>,
    sites: Vec<Site>,
}

impl SiteFinder<'_> {
    fn push(&mut self, span: Span, kind: SiteKind, detail: impl Into<String>) {
        let line = span.start().line;
        let documented = match kind {
            SiteKind::Block | SiteKind::Impl => {
                // The keyword's own line, then the innermost enclosing
                // statement or item (where clippy also looks).
                let enclosing = self.context.last().copied();
                std::iter::once(line)
                    .chain(enclosing)
                    .any(|l| has_safety_comment(self.file, l, line))
            }
            _ => false,
        };
        self.sites.push(Site {
            file: self.file.path.clone(),
            line,
            kind,
            detail: detail.into(),
            documented,
        });
    }

    fn check_attrs(&mut self, attrs: &[syn::Attribute]) {
        for attr in attrs {
            let path = attr.path();
            if path.is_ident("unsafe") {
                let inner = attr
                    .meta
                    .require_list()
                    .map(|l| l.tokens.to_string())
                    .unwrap_or_default();
                self.push(
                    attr.span(),
                    SiteKind::Attribute,
                    format!("#[unsafe({inner})]"),
                );
            } else if let Some(name) = UNSAFE_ATTRIBUTES.iter().find(|n| path.is_ident(n)) {
                self.push(attr.span(), SiteKind::Attribute, format!("#[{name}]"));
            }
        }
    }

    fn check_safety(&mut self, safety: &syn::Safety, what: &str) {
        if let syn::Safety::Unsafe(token) = safety {
            self.push(token.span, SiteKind::Fn, what);
        }
    }

    fn with_context(&mut self, line: usize, f: impl FnOnce(&mut Self)) {
        self.context.push(line);
        f(self);
        self.context.pop();
    }
}

impl<'ast> Visit<'ast> for SiteFinder<'_> {
    fn visit_attribute(&mut self, attr: &'ast syn::Attribute) {
        self.check_attrs(std::slice::from_ref(attr));
    }

    fn visit_item(&mut self, item: &'ast syn::Item) {
        let line = item_start_line(item);
        self.with_context(line, |this| visit::visit_item(this, item));
    }

    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        let line = stmt_start_line(stmt);
        self.with_context(line, |this| visit::visit_stmt(this, stmt));
    }

    fn visit_expr_unsafe(&mut self, expr: &'ast syn::ExprUnsafe) {
        self.push(expr.unsafe_token.span, SiteKind::Block, "");
        visit::visit_expr_unsafe(self, expr);
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.check_safety(&item.sig.safety, &item.sig.ident.to_string());
        visit::visit_item_fn(self, item);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.check_safety(&item.sig.safety, &item.sig.ident.to_string());
        visit::visit_impl_item_fn(self, item);
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        self.check_safety(&item.sig.safety, &item.sig.ident.to_string());
        visit::visit_trait_item_fn(self, item);
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if let Some(token) = &item.unsafety {
            let detail = item
                .trait_
                .as_ref()
                .and_then(|(path, _)| path.segments.last())
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            self.push(token.span, SiteKind::Impl, detail);
        }
        visit::visit_item_impl(self, item);
    }

    fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
        if let Some(token) = &item.unsafety {
            self.push(token.span, SiteKind::Trait, item.ident.to_string());
        }
        visit::visit_item_trait(self, item);
    }

    fn visit_item_foreign_mod(&mut self, item: &'ast syn::ItemForeignMod) {
        let abi = item
            .abi
            .name
            .as_ref()
            .map(|n| n.value())
            .unwrap_or_else(|| "C".into());
        self.push(
            item.abi.extern_token.span,
            SiteKind::ExternBlock,
            format!("extern \"{abi}\""),
        );
        visit::visit_item_foreign_mod(self, item);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        if ASM_MACROS.contains(&name.as_str()) {
            self.push(mac.span(), SiteKind::Macro, format!("{name}!"));
        }
        if let Some(span) = find_unsafe_token(mac.tokens.clone()) {
            self.push(span, SiteKind::Macro, format!("`unsafe` inside {name}!"));
        }
        visit::visit_macro(self, mac);
    }
}

fn item_start_line(item: &syn::Item) -> usize {
    item.span().start().line
}

fn stmt_start_line(stmt: &syn::Stmt) -> usize {
    stmt.span().start().line
}

/// The first `unsafe` identifier in a token stream, at any depth.
fn find_unsafe_token(tokens: TokenStream) -> Option<Span> {
    tokens.into_iter().find_map(|tree| match tree {
        TokenTree::Ident(id) if id == "unsafe" => Some(id.span()),
        TokenTree::Group(g) => find_unsafe_token(g.stream()),
        _ => None,
    })
}

/// Whether the lines just above `line` (or `line` itself, before the
/// `unsafe` keyword on `unsafe_line`) hold a `SAFETY:` comment. Comment and
/// attribute lines may stand between the comment and the code.
fn has_safety_comment(file: &SourceFile, line: usize, unsafe_line: usize) -> bool {
    let own = file.line(line);
    if line == unsafe_line {
        // `/* SAFETY: ... */ unsafe { ... }` on one line.
        let before = own.split("unsafe").next().unwrap_or("");
        if is_safety_comment_text(before) {
            return true;
        }
    }
    let mut current = line;
    while current > 1 {
        current -= 1;
        let text = file.line(current).trim();
        if text.starts_with("//") || text.starts_with("/*") || text.starts_with('*') {
            if is_safety_comment_text(text) {
                return true;
            }
        } else if !(text.starts_with("#[") || text.ends_with("*/")) {
            return false;
        }
    }
    false
}

fn is_safety_comment_text(text: &str) -> bool {
    [
        "// SAFETY:",
        "//SAFETY:",
        "/* SAFETY:",
        "/*SAFETY:",
        "* SAFETY:",
    ]
    .iter()
    .any(|marker| text.contains(marker))
        || text.trim_start().starts_with("SAFETY:")
}

/// Result of checking a tree.
#[derive(Debug, Default)]
pub struct Report {
    /// Every rule violation found.
    pub violations: Vec<Violation>,
    /// Every `unsafe` site found, documented or not.
    pub sites: Vec<Site>,
    /// Number of files parsed.
    pub files: usize,
}

/// Checks the framekernel rule on every crate under `guest_dir`: only the
/// crate named `trusted` may contain `unsafe`, every other crate's roots
/// must `#![forbid(unsafe_code)]`.
pub fn check_guest(guest_dir: &Path, trusted: &str) -> Result<Report> {
    let mut report = Report::default();
    for krate in source::find_crates(guest_dir)? {
        let is_trusted = krate.name == trusted;
        for path in krate.rust_files()? {
            let file = SourceFile::read(&path)?;
            report.files += 1;
            let file_sites = sites(&file);
            if !is_trusted {
                for site in &file_sites {
                    let detail = if site.detail.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", site.detail)
                    };
                    report.violations.push(Violation {
                        file: site.file.clone(),
                        line: site.line,
                        message: format!(
                            "{}{detail} in guest crate `{}`: only `{trusted}` may use unsafe \
                             (framekernel rule)",
                            site.kind, krate.name
                        ),
                    });
                }
                if krate.roots.contains(&path) && !forbids_unsafe_code(&file.ast) {
                    report.violations.push(Violation {
                        file: path.clone(),
                        line: 1,
                        message: format!(
                            "crate root of guest crate `{}` lacks `#![forbid(unsafe_code)]` \
                             (framekernel rule)",
                            krate.name
                        ),
                    });
                }
            }
            report.sites.extend(file_sites);
        }
    }
    Ok(report)
}

/// Checks the SAFETY rule on every `.rs` file under `root` except those
/// under `excludes`, and collects every `unsafe` site.
pub fn check_safety_comments(root: &Path, excludes: &[PathBuf]) -> Result<Report> {
    let mut report = Report::default();
    for path in source::rust_files_under(root, excludes)? {
        let file = SourceFile::read(&path)?;
        report.files += 1;
        for site in sites(&file) {
            if matches!(site.kind, SiteKind::Block | SiteKind::Impl) && !site.documented {
                report.violations.push(Violation {
                    file: site.file.clone(),
                    line: site.line,
                    message: format!("{} without a `// SAFETY:` comment just above it", site.kind),
                });
            }
            report.sites.push(site);
        }
    }
    Ok(report)
}

/// Whether a file has the inner attribute `#![forbid(unsafe_code)]`.
pub fn forbids_unsafe_code(file: &syn::File) -> bool {
    file.attrs.iter().any(|attr| {
        matches!(attr.style, syn::AttrStyle::Inner(_))
            && attr.path().is_ident("forbid")
            && attr.meta.require_list().is_ok_and(|list| {
                list.tokens
                    .clone()
                    .into_iter()
                    .any(|t| matches!(&t, TokenTree::Ident(i) if i == "unsafe_code"))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(src: &str) -> Vec<Site> {
        let file = SourceFile::parse(Path::new("t.rs"), src.to_string()).unwrap();
        sites(&file)
    }

    fn kinds(src: &str) -> Vec<(usize, SiteKind, bool)> {
        scan(src)
            .into_iter()
            .map(|s| (s.line, s.kind, s.documented))
            .collect()
    }

    #[test]
    fn documented_blocks_pass() {
        let src = "fn f(p: *const u8) -> u8 {\n\
                   // SAFETY: the caller passes a valid pointer.\n\
                   unsafe { *p }\n\
                   }\n";
        assert_eq!(kinds(src), vec![(3, SiteKind::Block, true)]);
    }

    #[test]
    fn comment_above_the_statement_counts() {
        let src = "fn f(p: *const u8) -> u8 {\n\
                   // SAFETY: valid pointer.\n\
                   #[allow(unused)]\n\
                   let x = g(\n\
                       1,\n\
                       unsafe { *p },\n\
                   );\n\
                   x\n\
                   }\n";
        assert_eq!(kinds(src), vec![(6, SiteKind::Block, true)]);
    }

    #[test]
    fn undocumented_blocks_are_found() {
        let src = "fn f(p: *const u8) -> u8 {\n\
                   // Reads the byte.\n\
                   \n\
                   unsafe { *p }\n\
                   }\n\
                   /// Docs.\n\
                   unsafe impl Send for X {}\n";
        assert_eq!(
            kinds(src),
            vec![(4, SiteKind::Block, false), (7, SiteKind::Impl, false)]
        );
    }

    #[test]
    fn every_form_of_unsafe_is_a_site() {
        let src = "#[unsafe(no_mangle)]\n\
                   pub extern \"C\" fn entry() {}\n\
                   #[no_mangle]\n\
                   fn old() {}\n\
                   unsafe fn raw() {}\n\
                   unsafe trait Tr {}\n\
                   unsafe extern \"C\" { fn ext(); }\n\
                   core::arch::global_asm!(\"nop\");\n\
                   macro_rules! m { () => { unsafe { raw() } } }\n";
        let found: Vec<(usize, SiteKind)> =
            scan(src).into_iter().map(|s| (s.line, s.kind)).collect();
        assert_eq!(
            found,
            vec![
                (1, SiteKind::Attribute),
                (3, SiteKind::Attribute),
                (5, SiteKind::Fn),
                (6, SiteKind::Trait),
                (7, SiteKind::ExternBlock),
                (8, SiteKind::Macro),
                (9, SiteKind::Macro),
            ]
        );
    }

    #[test]
    fn forbid_is_recognised() {
        let yes = syn::parse_file("#![no_std]\n#![forbid(unsafe_code, missing_docs)]\n").unwrap();
        let no = syn::parse_file("#![deny(unsafe_code)]\n").unwrap();
        assert!(forbids_unsafe_code(&yes));
        assert!(!forbids_unsafe_code(&no));
    }
}
