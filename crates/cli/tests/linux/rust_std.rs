//! Rust's real std on Linux: arguments, environment, collections, a mutex
//! and a channel, and `std::process::exit`.
use std::collections::{BTreeMap, HashMap};
use std::sync::{mpsc, Arc, Mutex};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("args {args:?}");
    println!("GREETING={:?}", std::env::var("GREETING").ok());
    let mut words: HashMap<&str, usize> = HashMap::new();
    for word in "the quick brown fox jumps over the lazy dog the end".split(' ') {
        *words.entry(word).or_default() += 1;
    }
    let sorted: BTreeMap<_, _> = words.into_iter().collect();
    println!("counts {sorted:?}");
    let total = Arc::new(Mutex::new(0u64));
    let (sender, receiver) = mpsc::channel();
    for i in 1..=10u64 {
        *total.lock().unwrap() += i;
        sender.send(i * i).unwrap();
    }
    drop(sender);
    let squares: u64 = receiver.iter().sum();
    println!("total {}, squares {squares}", total.lock().unwrap());
    let mut v: Vec<i64> = (0..1000).map(|i| (i * 7919) % 1009 - 500).collect();
    v.sort_unstable();
    println!("min {} max {} median {}", v[0], v[999], v[500]);
    std::process::exit(if args.is_empty() { 0 } else { 9 });
}
