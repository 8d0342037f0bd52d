/work/main/guest/target-bisect/release/deps/const_fn-e79e48b16ef0023f.d: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/error.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/ast.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/iter.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/to_tokens.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/utils.rs /work/main/guest/target-bisect/release/build/const_fn-5023cfa288b79d12/out/version

/work/main/guest/target-bisect/release/deps/libconst_fn-e79e48b16ef0023f.so: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/error.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/ast.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/iter.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/to_tokens.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/utils.rs /work/main/guest/target-bisect/release/build/const_fn-5023cfa288b79d12/out/version

/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/lib.rs:
/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/error.rs:
/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/ast.rs:
/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/iter.rs:
/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/to_tokens.rs:
/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/const_fn-0.4.12/src/utils.rs:
/work/main/guest/target-bisect/release/build/const_fn-5023cfa288b79d12/out/version:

# env-dep:OUT_DIR=/work/main/guest/target-bisect/release/build/const_fn-5023cfa288b79d12/out
