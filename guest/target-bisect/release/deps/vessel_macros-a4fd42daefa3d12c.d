/work/main/guest/target-bisect/release/deps/vessel_macros-a4fd42daefa3d12c.d: macros/src/lib.rs

/work/main/guest/target-bisect/release/deps/libvessel_macros-a4fd42daefa3d12c.so: macros/src/lib.rs

macros/src/lib.rs:
