//! A Rust panic: the message on stderr, exit status 101.
fn main() {
    println!("before the panic");
    let values: Vec<u32> = Vec::new();
    let index = std::env::args().count() + 2;
    println!("{}", values[index]);
}
