/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/volatile-ec3448def92fab40.d: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/volatile-0.4.6/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/volatile-0.4.6/src/access.rs

/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/libvolatile-ec3448def92fab40.rlib: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/volatile-0.4.6/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/volatile-0.4.6/src/access.rs

/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/libvolatile-ec3448def92fab40.rmeta: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/volatile-0.4.6/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/volatile-0.4.6/src/access.rs

/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/volatile-0.4.6/src/lib.rs:
/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/volatile-0.4.6/src/access.rs:
