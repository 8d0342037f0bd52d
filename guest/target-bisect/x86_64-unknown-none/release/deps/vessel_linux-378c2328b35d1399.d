/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/vessel_linux-378c2328b35d1399.d: linux-kernel/src/main.rs linux-kernel/src/file.rs linux-kernel/src/kernel.rs linux-kernel/src/process.rs linux-kernel/src/random.rs linux-kernel/src/syscall.rs

/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/vessel_linux-378c2328b35d1399: linux-kernel/src/main.rs linux-kernel/src/file.rs linux-kernel/src/kernel.rs linux-kernel/src/process.rs linux-kernel/src/random.rs linux-kernel/src/syscall.rs

linux-kernel/src/main.rs:
linux-kernel/src/file.rs:
linux-kernel/src/kernel.rs:
linux-kernel/src/process.rs:
linux-kernel/src/random.rs:
linux-kernel/src/syscall.rs:
