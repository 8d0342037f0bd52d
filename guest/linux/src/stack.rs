//! The initial stack of a new process.
//!
//! At a Linux x86-64 program's entry, `rsp` points at this (low to high):
//!
//! ```text
//! rsp ->  argc
//!         argv[0] .. argv[argc-1], NULL
//!         envp[0] .. envp[n-1], NULL
//!         auxv: (type, value) pairs, ending with (AT_NULL, 0)
//!         padding
//!         16 random bytes (AT_RANDOM), "x86_64\0" (AT_PLATFORM)
//!         argv strings, envp strings, the file name (AT_EXECFN)
//!         8 zero bytes
//! top ->
//! ```
//!
//! `rsp` is 16-byte aligned, as the System V ABI requires at process entry.
//! The order of strings and auxv entries follows Linux's `fs/exec.c` and
//! `create_elf_tables`, so programs that peek at the layout (some do, to
//! find `envp` from `argv`) behave as on Linux.
//!
//! [`build`] produces the bytes of this region; the caller copies them into
//! the new address space so that the last byte lands just below `top`.

use alloc::vec::Vec;

use crate::PAGE_SIZE;
use crate::elf::LoadPlan;
use crate::errno::Errno;

/// Auxiliary vector entry types (`AT_*` from `linux/auxvec.h`).
pub mod at {
    /// End of the vector.
    pub const NULL: u64 = 0;
    /// Address of the program headers.
    pub const PHDR: u64 = 3;
    /// Size of one program header.
    pub const PHENT: u64 = 4;
    /// Number of program headers.
    pub const PHNUM: u64 = 5;
    /// Page size.
    pub const PAGESZ: u64 = 6;
    /// Base address of the ELF interpreter (0: none).
    pub const BASE: u64 = 7;
    /// Flags (0).
    pub const FLAGS: u64 = 8;
    /// Program entry point.
    pub const ENTRY: u64 = 9;
    /// Real user id.
    pub const UID: u64 = 11;
    /// Effective user id.
    pub const EUID: u64 = 12;
    /// Real group id.
    pub const GID: u64 = 13;
    /// Effective group id.
    pub const EGID: u64 = 14;
    /// Address of the platform string.
    pub const PLATFORM: u64 = 15;
    /// CPU capabilities (CPUID.1:EDX on x86).
    pub const HWCAP: u64 = 16;
    /// Clock ticks per second (`times`).
    pub const CLKTCK: u64 = 17;
    /// Secure mode (setuid): 0.
    pub const SECURE: u64 = 23;
    /// Address of 16 random bytes.
    pub const RANDOM: u64 = 25;
    /// More CPU capabilities (x86: ring-3 `MWAIT`, `FSGSBASE`).
    pub const HWCAP2: u64 = 26;
    /// Address of the executed file name.
    pub const EXECFN: u64 = 31;
    /// The least stack a signal handler needs (`sysconf(_SC_MINSIGSTKSZ)`).
    pub const MINSIGSTKSZ: u64 = 51;
}

/// Default limit on the total size of argv and envp (strings, their NULs
/// and their pointers): 128 KiB, the traditional `ARG_MAX`.
pub const DEFAULT_ARG_LIMIT: usize = 128 * 1024;
/// Linux's `USER_HZ`, reported as `AT_CLKTCK`.
pub const CLOCK_TICKS: u64 = 100;
/// Number of auxv pairs on the stack, `AT_NULL` included.
pub const AUX_ENTRIES: usize = 20;
/// The platform string reported as `AT_PLATFORM`.
pub const PLATFORM: &[u8] = b"x86_64";

/// What the auxiliary vector says about the program and the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuxInfo {
    /// `AT_PHDR`.
    pub phdr: u64,
    /// `AT_PHENT`.
    pub phent: u64,
    /// `AT_PHNUM`.
    pub phnum: u64,
    /// `AT_ENTRY`: the program's entry, even when its interpreter runs
    /// first.
    pub entry: u64,
    /// `AT_BASE`: where the ELF interpreter is loaded (its load bias), 0
    /// without one.
    pub base: u64,
    /// `AT_HWCAP`: CPUID leaf 1 EDX, as Linux reports on x86.
    pub hwcap: u64,
    /// `AT_MINSIGSTKSZ`: the most stack the kernel's signal frame takes.
    pub min_signal_stack: u64,
}

impl AuxInfo {
    /// The values of `program`'s load plan and, for a dynamically linked
    /// program, of its `interpreter`'s, with the CPU's `hwcap` and the
    /// size of the kernel's signal frame.
    pub fn new(
        program: &LoadPlan,
        interpreter: Option<&LoadPlan>,
        hwcap: u64,
        min_signal_stack: u64,
    ) -> AuxInfo {
        AuxInfo {
            phdr: program.phdr,
            phent: program.phent,
            phnum: program.phnum,
            entry: program.entry,
            base: interpreter.map_or(0, |i| i.load_bias),
            hwcap,
            min_signal_stack,
        }
    }

    /// The auxiliary vector, in Linux's order, given the addresses of the
    /// random bytes, the file name and the platform string; ends with
    /// `AT_NULL`. Identity is root's; `AT_HWCAP2` is 0 (no ring-3 `MWAIT`,
    /// `FSGSBASE` not enabled for user mode). There is no vDSO
    /// (`AT_SYSINFO_EHDR`): libc then makes real system calls.
    pub fn entries(&self, random: u64, execfn: u64, platform: u64) -> [(u64, u64); AUX_ENTRIES] {
        [
            (at::MINSIGSTKSZ, self.min_signal_stack),
            (at::HWCAP, self.hwcap),
            (at::PAGESZ, PAGE_SIZE),
            (at::CLKTCK, CLOCK_TICKS),
            (at::PHDR, self.phdr),
            (at::PHENT, self.phent),
            (at::PHNUM, self.phnum),
            (at::BASE, self.base),
            (at::FLAGS, 0),
            (at::ENTRY, self.entry),
            (at::UID, 0),
            (at::EUID, 0),
            (at::GID, 0),
            (at::EGID, 0),
            (at::SECURE, 0),
            (at::RANDOM, random),
            (at::HWCAP2, 0),
            (at::EXECFN, execfn),
            (at::PLATFORM, platform),
            (at::NULL, 0),
        ]
    }
}

/// The initial stack of a process: bytes to copy to `[base, top)` and the
/// initial `rsp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialStack {
    /// Address the first byte of `bytes` goes to.
    pub base: u64,
    /// The stack image; `base + bytes.len()` is the stack top.
    pub bytes: Vec<u8>,
    /// Initial `rsp` (points at argc; 16-byte aligned).
    pub rsp: u64,
    /// Address of `argv[0]`'s pointer (`rsp + 8`).
    pub argv: u64,
    /// Address of `envp[0]`'s pointer.
    pub envp: u64,
    /// Address of the first auxv entry.
    pub auxv: u64,
}

/// Builds the initial stack below `top` (which must be 16-byte aligned).
///
/// `execfn` is the path the program was executed by (`AT_EXECFN`);
/// `random` the 16 bytes `AT_RANDOM` points at (libc seeds its stack
/// protector and pointer guard from them, so they must come from a good
/// source). Fails with `E2BIG` if argv and envp together exceed
/// `arg_limit` bytes (strings with their NULs plus 8 per pointer), and
/// with `EINVAL` if a string contains a NUL byte or `top` is misaligned,
/// and with `ENOMEM` if the stack would not fit below `top`.
pub fn build(
    top: u64,
    argv: &[&[u8]],
    envp: &[&[u8]],
    execfn: &[u8],
    random: &[u8; 16],
    aux: &AuxInfo,
    arg_limit: usize,
) -> Result<InitialStack, Errno> {
    if !top.is_multiple_of(16) {
        return Err(Errno::EINVAL);
    }
    let strings = argv.iter().chain(envp).chain([&execfn]);
    if strings.clone().any(|s| s.contains(&0)) {
        return Err(Errno::EINVAL);
    }
    let arg_bytes: usize = argv.iter().chain(envp).map(|s| s.len() + 1 + 8).sum();
    if arg_bytes > arg_limit {
        return Err(Errno::E2BIG);
    }

    // Sizes, from the top down: end marker, file name, envp and argv
    // strings, platform string, random bytes; then the pointer block.
    let string_bytes: usize = strings.map(|s| s.len() + 1).sum();
    let info_size = 8 + string_bytes + PLATFORM.len() + 1 + 16;
    let words = 1 + (argv.len() + 1) + (envp.len() + 1) + 2 * AUX_ENTRIES;
    let size = (info_size + 8 * words) as u64;
    let rsp = top.checked_sub(size).ok_or(Errno::ENOMEM)? & !15;
    let info_start = top - info_size as u64;
    let base = rsp;
    let mut bytes = alloc::vec![0u8; (top - base) as usize];
    let offset = |addr: u64| (addr - base) as usize;

    // Strings, placed downwards from just below the end marker.
    let mut cursor = top - 8;
    let mut put = |bytes: &mut Vec<u8>, s: &[u8]| {
        cursor -= s.len() as u64 + 1;
        let o = offset(cursor);
        bytes[o..o + s.len()].copy_from_slice(s);
        cursor
    };
    let execfn_addr = put(&mut bytes, execfn);
    let mut env_addrs: Vec<u64> = envp.iter().rev().map(|s| put(&mut bytes, s)).collect();
    env_addrs.reverse();
    let mut arg_addrs: Vec<u64> = argv.iter().rev().map(|s| put(&mut bytes, s)).collect();
    arg_addrs.reverse();
    let platform_addr = put(&mut bytes, PLATFORM);
    let random_addr = cursor - 16;
    let o = offset(random_addr);
    bytes[o..o + 16].copy_from_slice(random);
    debug_assert_eq!(random_addr, info_start);

    // The pointer block, upwards from rsp.
    let mut at = rsp;
    let mut word = |bytes: &mut Vec<u8>, value: u64| {
        let o = offset(at);
        bytes[o..o + 8].copy_from_slice(&value.to_le_bytes());
        at += 8;
    };
    word(&mut bytes, argv.len() as u64);
    arg_addrs.iter().for_each(|&a| word(&mut bytes, a));
    word(&mut bytes, 0);
    let envp_ptr = rsp + 8 * (argv.len() as u64 + 2);
    env_addrs.iter().for_each(|&a| word(&mut bytes, a));
    word(&mut bytes, 0);
    let auxv_ptr = envp_ptr + 8 * (envp.len() as u64 + 1);
    let entries = aux.entries(random_addr, execfn_addr, platform_addr);
    for (key, value) in entries {
        word(&mut bytes, key);
        word(&mut bytes, value);
    }

    Ok(InitialStack {
        base,
        bytes,
        rsp,
        argv: rsp + 8,
        envp: envp_ptr,
        auxv: auxv_ptr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOP: u64 = 0x7fff_ffff_f000;
    const RANDOM: [u8; 16] = *b"0123456789abcdef";

    fn aux() -> AuxInfo {
        AuxInfo {
            phdr: 0x400040,
            phent: 56,
            phnum: 7,
            entry: 0x401234,
            base: 0x7f00_0000_0000,
            hwcap: 0x178b_fbff,
            min_signal_stack: 1200,
        }
    }

    /// Reads the stack back the way a libc `_start` does.
    struct Parsed {
        argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
        auxv: Vec<(u64, u64)>,
    }

    fn read_u64(s: &InitialStack, addr: u64) -> u64 {
        let o = (addr - s.base) as usize;
        u64::from_le_bytes(s.bytes[o..o + 8].try_into().unwrap())
    }

    fn read_cstr(s: &InitialStack, addr: u64) -> Vec<u8> {
        let o = (addr - s.base) as usize;
        let len = s.bytes[o..].iter().position(|&b| b == 0).unwrap();
        s.bytes[o..o + len].to_vec()
    }

    fn parse_back(s: &InitialStack) -> Parsed {
        let argc = read_u64(s, s.rsp);
        let mut p = s.rsp + 8;
        let mut argv = Vec::new();
        for _ in 0..argc {
            argv.push(read_cstr(s, read_u64(s, p)));
            p += 8;
        }
        assert_eq!(read_u64(s, p), 0, "argv NULL");
        p += 8;
        assert_eq!(p, s.envp);
        let mut envp = Vec::new();
        while read_u64(s, p) != 0 {
            envp.push(read_cstr(s, read_u64(s, p)));
            p += 8;
        }
        p += 8;
        assert_eq!(p, s.auxv);
        let mut auxv = Vec::new();
        loop {
            let pair = (read_u64(s, p), read_u64(s, p + 8));
            auxv.push(pair);
            p += 16;
            if pair.0 == at::NULL {
                break;
            }
        }
        Parsed { argv, envp, auxv }
    }

    fn aux_value(p: &Parsed, key: u64) -> u64 {
        let hits: Vec<u64> = p.auxv.iter().filter(|e| e.0 == key).map(|e| e.1).collect();
        assert_eq!(hits.len(), 1, "AT_{key} appears once");
        hits[0]
    }

    #[test]
    fn layout_parses_back() {
        let argv: [&[u8]; 3] = [b"/bin/busybox", b"echo", b"hello world"];
        let envp: [&[u8]; 2] = [b"PATH=/bin", b"HOME=/"];
        let s = build(
            TOP,
            &argv,
            &envp,
            b"/bin/busybox",
            &RANDOM,
            &aux(),
            DEFAULT_ARG_LIMIT,
        )
        .unwrap();
        assert_eq!(s.rsp % 16, 0);
        assert_eq!(s.base + s.bytes.len() as u64, TOP);
        assert_eq!(s.argv, s.rsp + 8);
        // The top 8 bytes are zero (end marker).
        assert!(s.bytes[s.bytes.len() - 8..].iter().all(|&b| b == 0));

        let p = parse_back(&s);
        assert_eq!(p.argv, argv.map(<[u8]>::to_vec));
        assert_eq!(p.envp, envp.map(<[u8]>::to_vec));
        assert_eq!(p.auxv.last(), Some(&(at::NULL, 0)));
        assert_eq!(p.auxv.len(), AUX_ENTRIES);
        // Linux's order: the architecture's entries first.
        assert_eq!(p.auxv[0], (at::MINSIGSTKSZ, 1200));
        assert_eq!(aux_value(&p, at::PHDR), 0x400040);
        assert_eq!(aux_value(&p, at::PHENT), 56);
        assert_eq!(aux_value(&p, at::PHNUM), 7);
        assert_eq!(aux_value(&p, at::PAGESZ), 4096);
        assert_eq!(aux_value(&p, at::ENTRY), 0x401234);
        assert_eq!(aux_value(&p, at::HWCAP), 0x178b_fbff);
        assert_eq!(aux_value(&p, at::CLKTCK), 100);
        assert_eq!(aux_value(&p, at::BASE), 0x7f00_0000_0000);
        for key in [
            at::HWCAP2,
            at::FLAGS,
            at::UID,
            at::EUID,
            at::GID,
            at::EGID,
            at::SECURE,
        ] {
            assert_eq!(aux_value(&p, key), 0);
        }
        let random = aux_value(&p, at::RANDOM);
        let o = (random - s.base) as usize;
        assert_eq!(s.bytes[o..o + 16], RANDOM);
        assert_eq!(read_cstr(&s, aux_value(&p, at::EXECFN)), b"/bin/busybox");
        assert_eq!(read_cstr(&s, aux_value(&p, at::PLATFORM)), b"x86_64");
        // Strings lie above the pointer block, below the top.
        let auxv_end = s.auxv + 16 * p.auxv.len() as u64;
        assert!(random >= auxv_end);
        for (i, _) in argv.iter().enumerate() {
            let ptr = read_u64(&s, s.argv + 8 * i as u64);
            assert!(ptr > random && ptr < TOP - 8);
        }
    }

    #[test]
    fn alignment_holds_for_every_shape() {
        // Vary string lengths and counts so that every residue of the
        // pointer block and string area mod 16 occurs.
        let words: Vec<Vec<u8>> = (0..20).map(|n| vec![b'a'; n]).collect();
        for argc in 0..5 {
            for envc in 0..4 {
                for len in 0..16 {
                    let argv: Vec<&[u8]> = words[len..len + argc].iter().map(|w| &w[..]).collect();
                    let envp: Vec<&[u8]> = words[..envc].iter().map(|w| &w[..]).collect();
                    let s = build(
                        TOP,
                        &argv,
                        &envp,
                        &words[len],
                        &RANDOM,
                        &aux(),
                        DEFAULT_ARG_LIMIT,
                    )
                    .unwrap();
                    assert_eq!(s.rsp % 16, 0);
                    assert_eq!(s.rsp, s.base);
                    // No more than 15 bytes of padding.
                    let p = parse_back(&s);
                    assert_eq!(p.argv.len(), argc);
                    assert_eq!(p.envp.len(), envc);
                    let random = aux_value(&p, at::RANDOM);
                    let auxv_end = s.auxv + 16 * p.auxv.len() as u64;
                    assert!(random - auxv_end < 16);
                }
            }
        }
    }

    #[test]
    fn argument_limit_gives_e2big() {
        let big = vec![b'x'; 1000];
        let argv: Vec<&[u8]> = vec![&big[..]; 10];
        // 10 * (1000 + 1 + 8) = 10090 bytes.
        let ok = build(TOP, &argv, &[], b"/x", &RANDOM, &aux(), 10090);
        assert!(ok.is_ok());
        let err = build(TOP, &argv, &[], b"/x", &RANDOM, &aux(), 10089);
        assert_eq!(err, Err(Errno::E2BIG));
        // envp counts too.
        let err = build(TOP, &argv[..9], &argv[..2], b"/x", &RANDOM, &aux(), 10090);
        assert_eq!(err, Err(Errno::E2BIG));
        let huge = vec![b'y'; DEFAULT_ARG_LIMIT];
        let err = build(
            TOP,
            &[&huge],
            &[],
            b"/x",
            &RANDOM,
            &aux(),
            DEFAULT_ARG_LIMIT,
        );
        assert_eq!(err, Err(Errno::E2BIG));
    }

    #[test]
    fn bad_inputs_are_einval() {
        let e = build(
            TOP - 8,
            &[b"a"],
            &[],
            b"/a",
            &RANDOM,
            &aux(),
            DEFAULT_ARG_LIMIT,
        );
        assert_eq!(e, Err(Errno::EINVAL));
        let e = build(
            TOP,
            &[b"a\0b"],
            &[],
            b"/a",
            &RANDOM,
            &aux(),
            DEFAULT_ARG_LIMIT,
        );
        assert_eq!(e, Err(Errno::EINVAL));
        let e = build(
            TOP,
            &[b"a"],
            &[],
            b"/a\0",
            &RANDOM,
            &aux(),
            DEFAULT_ARG_LIMIT,
        );
        assert_eq!(e, Err(Errno::EINVAL));
        let e = build(64, &[b"a"], &[], b"/a", &RANDOM, &aux(), DEFAULT_ARG_LIMIT);
        assert_eq!(e, Err(Errno::ENOMEM));
    }

    #[test]
    fn aux_info_from_load_plans() {
        let program = LoadPlan {
            kind: crate::elf::ElfKind::Pie,
            load_bias: 0x5555_5555_4000,
            segments: Vec::new(),
            entry: 0x5555_5555_5040,
            phdr: 0x5555_5555_4040,
            phent: 56,
            phnum: 9,
            brk_start: 0x5555_5555_8000,
            exec_stack: false,
            interpreter: Some(b"/lib64/ld-linux-x86-64.so.2".to_vec()),
        };
        let interpreter = LoadPlan {
            kind: crate::elf::ElfKind::Interpreter,
            load_bias: 0x7f00_0000_0000,
            entry: 0x7f00_0000_1040,
            phdr: 0x7f00_0000_0040,
            phnum: 11,
            interpreter: None,
            ..program.clone()
        };
        let expected = AuxInfo {
            phdr: 0x5555_5555_4040,
            phent: 56,
            phnum: 9,
            entry: 0x5555_5555_5040,
            base: 0x7f00_0000_0000,
            hwcap: 7,
            min_signal_stack: 1200,
        };
        // The program's headers and entry; the interpreter's base.
        assert_eq!(
            AuxInfo::new(&program, Some(&interpreter), 7, 1200),
            expected
        );
        let without = AuxInfo::new(&program, None, 7, 1200);
        assert_eq!(
            without,
            AuxInfo {
                base: 0,
                ..expected
            }
        );
    }
}
