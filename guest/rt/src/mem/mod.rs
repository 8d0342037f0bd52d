//! Memory: physical frames, the kernel heap and kernel stacks.

pub mod frames;
pub mod heap;
pub mod stack;

use vessel_abi::layout::DIRECT_MAP_BASE;

/// Size of a page.
pub const PAGE_SIZE: u64 = 4096;

/// The direct-map address of a physical address.
pub fn phys_to_virt(phys: u64) -> u64 {
    DIRECT_MAP_BASE + phys
}

/// Whether `address` lies in a guard page below some kernel stack.
pub fn is_stack_guard(address: u64) -> bool {
    let page = address & !(PAGE_SIZE - 1);
    crate::arch::stacks::guard_pages().contains(&page) || stack::is_guard(address)
}
