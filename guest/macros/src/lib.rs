//! `#[vessel_std::main]`: marks a unikernel's entry function.
#![forbid(unsafe_code)]

use proc_macro::{Delimiter, Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};

/// Marks the function vessel-rt calls once the VM has booted.
///
/// The function takes no arguments and returns anything that implements
/// `vessel_std::process::Termination`: `()`, `ExitCode`, or
/// `Result<(), E: Debug>`, as for a Rust `main`. Arguments and environment
/// come from `vessel_std::env`.
///
/// ```ignore
/// #[vessel_std::main]
/// fn main() {
///     vessel_std::println!("Hello!");
/// }
/// ```
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return compile_error("#[vessel_std::main] takes no arguments");
    }
    let Some(name) = function_name(&item) else {
        return compile_error("#[vessel_std::main] must be placed on a function");
    };
    // item, then: ::vessel_std::__entry!(name);
    let mut out = item;
    out.extend([
        TokenTree::Punct(Punct::new(':', Spacing::Joint)),
        TokenTree::Punct(Punct::new(':', Spacing::Alone)),
        TokenTree::Ident(Ident::new("vessel_std", Span::call_site())),
        TokenTree::Punct(Punct::new(':', Spacing::Joint)),
        TokenTree::Punct(Punct::new(':', Spacing::Alone)),
        TokenTree::Ident(Ident::new("__entry", Span::call_site())),
        TokenTree::Punct(Punct::new('!', Spacing::Alone)),
        TokenTree::Group(Group::new(
            Delimiter::Parenthesis,
            TokenTree::Ident(name).into(),
        )),
        TokenTree::Punct(Punct::new(';', Spacing::Alone)),
    ]);
    out
}

/// The identifier after the `fn` keyword.
fn function_name(item: &TokenStream) -> Option<Ident> {
    let mut tokens = item.clone().into_iter();
    while let Some(token) = tokens.next() {
        if matches!(&token, TokenTree::Ident(i) if i.to_string() == "fn") {
            return match tokens.next() {
                Some(TokenTree::Ident(name)) => Some(name),
                _ => None,
            };
        }
    }
    None
}

fn compile_error(message: &str) -> TokenStream {
    format!("::core::compile_error!({message:?});")
        .parse()
        .expect("valid tokens")
}
