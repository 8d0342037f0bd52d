/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/scopeguard-2201001e48e926d2.d: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/scopeguard-1.2.0/src/lib.rs

/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/libscopeguard-2201001e48e926d2.rlib: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/scopeguard-1.2.0/src/lib.rs

/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/libscopeguard-2201001e48e926d2.rmeta: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/scopeguard-1.2.0/src/lib.rs

/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/scopeguard-1.2.0/src/lib.rs:
