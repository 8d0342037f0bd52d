/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/bit_field-5b8bf9c988364688.d: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit_field-0.10.3/src/lib.rs

/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/libbit_field-5b8bf9c988364688.rlib: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit_field-0.10.3/src/lib.rs

/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/libbit_field-5b8bf9c988364688.rmeta: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit_field-0.10.3/src/lib.rs

/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit_field-0.10.3/src/lib.rs:
