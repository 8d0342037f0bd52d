/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/vessel_linux-3868a356f25b0015.d: linux/src/lib.rs linux/src/elf.rs linux/src/errno.rs linux/src/stack.rs linux/src/support.rs linux/src/syscalls.rs

/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/libvessel_linux-3868a356f25b0015.rlib: linux/src/lib.rs linux/src/elf.rs linux/src/errno.rs linux/src/stack.rs linux/src/support.rs linux/src/syscalls.rs

/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/libvessel_linux-3868a356f25b0015.rmeta: linux/src/lib.rs linux/src/elf.rs linux/src/errno.rs linux/src/stack.rs linux/src/support.rs linux/src/syscalls.rs

linux/src/lib.rs:
linux/src/elf.rs:
linux/src/errno.rs:
linux/src/stack.rs:
linux/src/support.rs:
linux/src/syscalls.rs:
