//! Scanning memory quickly where the host emulates kernel code.
//!
//! A loop costs a few instructions per element; under an emulating
//! hypervisor each costs about a microsecond, while a repeated string
//! instruction (`repe scasq`, `repne scasb`) is emulated once and iterated
//! inside the emulator, several times cheaper per element (and about as
//! fast as the loop on hardware). Three scans are hot: the used entries of
//! a page table (tearing down or walking an address space looks at every
//! entry of each of its tables, most of them empty), free runs of the frame
//! bitmap, and newlines in console output (the console is line buffered).

/// Index of the first non-zero word of `words` at or after `from`.
pub(crate) fn first_used(words: &[u64; 512], from: usize) -> Option<usize> {
    Some(from + first_other_than(words.get(from..)?, 0)?)
}

/// Index of the first word of `words` that is not `value`.
pub(crate) fn first_other_than(words: &[u64], value: u64) -> Option<usize> {
    if words.is_empty() {
        return None;
    }
    let remaining: usize;
    // SAFETY: `repe scasq` compares RAX (`value`) with the qwords from RDI
    // upwards, at most RCX of them: exactly `words`, which is borrowed for
    // the call. The direction flag is clear, as the ABI guarantees at an
    // `asm!` block. It writes no memory and touches no stack.
    unsafe {
        core::arch::asm!(
            "repe scasq",
            inout("rcx") words.len() => remaining,
            inout("rdi") words.as_ptr() => _,
            in("rax") value,
            options(readonly, nostack),
        );
    }
    // RCX counts the words not compared: the last one compared is the
    // first other one, or the last word if all were `value`.
    let last = words.len() - remaining - 1;
    (words[last] != value).then_some(last)
}

/// Whether `haystack` holds `byte`.
pub(crate) fn contains_byte(haystack: &[u8], byte: u8) -> bool {
    if haystack.is_empty() {
        return false;
    }
    let remaining: usize;
    // SAFETY: `repne scasb` compares AL with the bytes from RDI upwards, at
    // most RCX of them: exactly `haystack`, which is borrowed for the call.
    // The direction flag is clear, as the ABI guarantees at an `asm!`
    // block. It writes no memory and touches no stack.
    unsafe {
        core::arch::asm!(
            "repne scasb",
            inout("rcx") haystack.len() => remaining,
            inout("rdi") haystack.as_ptr() => _,
            in("al") byte,
            options(readonly, nostack),
        );
    }
    // RCX counts the bytes not compared: the last one compared is the
    // first match, or the last byte if none matched.
    haystack[haystack.len() - remaining - 1] == byte
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_non_zero_word_from_a_start() {
        let mut words = [0u64; 512];
        assert_eq!(first_used(&words, 0), None);
        assert_eq!(first_used(&words, 511), None);
        assert_eq!(first_used(&words, 512), None);
        words[0] = 1;
        words[7] = 0x8000_0000_0000_0000;
        words[511] = 3;
        assert_eq!(first_used(&words, 0), Some(0));
        assert_eq!(first_used(&words, 1), Some(7));
        assert_eq!(first_used(&words, 7), Some(7));
        assert_eq!(first_used(&words, 8), Some(511));
        assert_eq!(first_used(&words, 511), Some(511));
        words[511] = 0;
        assert_eq!(first_used(&words, 8), None);
    }

    #[test]
    fn finds_a_byte_anywhere() {
        assert!(!contains_byte(b"", b'\n'));
        assert!(!contains_byte(b"no newline", b'\n'));
        assert!(contains_byte(b"\n", b'\n'));
        assert!(contains_byte(b"\nfirst", b'\n'));
        assert!(contains_byte(b"middle\nof it", b'\n'));
        assert!(contains_byte(b"last\n", b'\n'));
        assert!(!contains_byte(&[0u8; 4097], 1));
        assert!(contains_byte(&[0u8; 4097], 0));
    }
}
