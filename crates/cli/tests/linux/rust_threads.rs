//! Rust std threads: spawn, join with results, a contended Mutex, a
//! channel between threads, and Arc.
use std::sync::{mpsc, Arc, Mutex};
use std::thread;

fn main() {
    let counter = Arc::new(Mutex::new(0u64));
    let (sender, receiver) = mpsc::channel();
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            let counter = Arc::clone(&counter);
            let sender = sender.clone();
            thread::spawn(move || {
                let mut local = 0;
                for i in 0..2000 {
                    *counter.lock().unwrap() += 1;
                    local += i * (t + 1);
                }
                sender.send(t).unwrap();
                local
            })
        })
        .collect();
    drop(sender);
    let results: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut order: Vec<u64> = receiver.iter().collect();
    order.sort();
    println!("results {results:?}");
    println!("counter {}", *counter.lock().unwrap());
    println!("senders {order:?}");
    let panicked = thread::spawn(|| -> u32 { panic!("thread panic on purpose") }).join();
    println!("panicking thread joined with an error: {}", panicked.is_err());
}
