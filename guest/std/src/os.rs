//! Platform-specific interfaces, as in std's `os`.

/// User mode: address spaces and ring-3 contexts, for kernel services that
/// run programs (see `vessel_rt::user`).
pub mod user {
    pub use vessel_rt::user::{
        Access, AccessKind, FPU_IMAGE_SIZE, Fault, FaultResolution, MapError, Mapping, USER_END,
        UserContext, UserExit, UserSpace, run_user,
    };
}
