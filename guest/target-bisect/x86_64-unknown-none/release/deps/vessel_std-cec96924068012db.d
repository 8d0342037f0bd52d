/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/vessel_std-cec96924068012db.d: std/src/lib.rs std/src/env.rs std/src/macros.rs std/src/os.rs std/src/process.rs std/src/sync/mod.rs std/src/sync/mpsc.rs std/src/thread.rs std/src/time.rs

/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/libvessel_std-cec96924068012db.rlib: std/src/lib.rs std/src/env.rs std/src/macros.rs std/src/os.rs std/src/process.rs std/src/sync/mod.rs std/src/sync/mpsc.rs std/src/thread.rs std/src/time.rs

/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/libvessel_std-cec96924068012db.rmeta: std/src/lib.rs std/src/env.rs std/src/macros.rs std/src/os.rs std/src/process.rs std/src/sync/mod.rs std/src/sync/mpsc.rs std/src/thread.rs std/src/time.rs

std/src/lib.rs:
std/src/env.rs:
std/src/macros.rs:
std/src/os.rs:
std/src/process.rs:
std/src/sync/mod.rs:
std/src/sync/mpsc.rs:
std/src/thread.rs:
std/src/time.rs:
