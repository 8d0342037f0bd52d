/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/vessel_abi-e633baeff9e21708.d: /tmp/wt/crates/abi/src/lib.rs

/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/libvessel_abi-e633baeff9e21708.rlib: /tmp/wt/crates/abi/src/lib.rs

/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/libvessel_abi-e633baeff9e21708.rmeta: /tmp/wt/crates/abi/src/lib.rs

/tmp/wt/crates/abi/src/lib.rs:
