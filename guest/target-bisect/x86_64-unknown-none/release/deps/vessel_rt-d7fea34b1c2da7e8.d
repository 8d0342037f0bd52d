/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/vessel_rt-d7fea34b1c2da7e8.d: rt/src/lib.rs rt/src/boot_info.rs rt/src/frames.rs rt/src/pvh.rs rt/src/time_conv.rs rt/src/arch/mod.rs rt/src/arch/apic.rs rt/src/arch/context.rs rt/src/arch/cpu.rs rt/src/arch/entry.rs rt/src/arch/gdt.rs rt/src/arch/paging.rs rt/src/arch/pvh.rs rt/src/arch/stacks.rs rt/src/arch/trap.rs rt/src/arch/tsc.rs rt/src/boot.rs rt/src/console.rs rt/src/env.rs rt/src/mem/mod.rs rt/src/mem/frames.rs rt/src/mem/heap.rs rt/src/mem/stack.rs rt/src/panic.rs rt/src/platform/mod.rs rt/src/platform/kvmclock.rs rt/src/platform/pc.rs rt/src/platform/vessel.rs rt/src/sync/mod.rs rt/src/sync/condvar.rs rt/src/sync/mutex.rs rt/src/sync/spin.rs rt/src/task/mod.rs rt/src/task/sched.rs rt/src/task/wait_queue.rs rt/src/time.rs rt/src/user.rs

/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/libvessel_rt-d7fea34b1c2da7e8.rlib: rt/src/lib.rs rt/src/boot_info.rs rt/src/frames.rs rt/src/pvh.rs rt/src/time_conv.rs rt/src/arch/mod.rs rt/src/arch/apic.rs rt/src/arch/context.rs rt/src/arch/cpu.rs rt/src/arch/entry.rs rt/src/arch/gdt.rs rt/src/arch/paging.rs rt/src/arch/pvh.rs rt/src/arch/stacks.rs rt/src/arch/trap.rs rt/src/arch/tsc.rs rt/src/boot.rs rt/src/console.rs rt/src/env.rs rt/src/mem/mod.rs rt/src/mem/frames.rs rt/src/mem/heap.rs rt/src/mem/stack.rs rt/src/panic.rs rt/src/platform/mod.rs rt/src/platform/kvmclock.rs rt/src/platform/pc.rs rt/src/platform/vessel.rs rt/src/sync/mod.rs rt/src/sync/condvar.rs rt/src/sync/mutex.rs rt/src/sync/spin.rs rt/src/task/mod.rs rt/src/task/sched.rs rt/src/task/wait_queue.rs rt/src/time.rs rt/src/user.rs

/work/main/guest/target-bisect/x86_64-unknown-none/release/deps/libvessel_rt-d7fea34b1c2da7e8.rmeta: rt/src/lib.rs rt/src/boot_info.rs rt/src/frames.rs rt/src/pvh.rs rt/src/time_conv.rs rt/src/arch/mod.rs rt/src/arch/apic.rs rt/src/arch/context.rs rt/src/arch/cpu.rs rt/src/arch/entry.rs rt/src/arch/gdt.rs rt/src/arch/paging.rs rt/src/arch/pvh.rs rt/src/arch/stacks.rs rt/src/arch/trap.rs rt/src/arch/tsc.rs rt/src/boot.rs rt/src/console.rs rt/src/env.rs rt/src/mem/mod.rs rt/src/mem/frames.rs rt/src/mem/heap.rs rt/src/mem/stack.rs rt/src/panic.rs rt/src/platform/mod.rs rt/src/platform/kvmclock.rs rt/src/platform/pc.rs rt/src/platform/vessel.rs rt/src/sync/mod.rs rt/src/sync/condvar.rs rt/src/sync/mutex.rs rt/src/sync/spin.rs rt/src/task/mod.rs rt/src/task/sched.rs rt/src/task/wait_queue.rs rt/src/time.rs rt/src/user.rs

rt/src/lib.rs:
rt/src/boot_info.rs:
rt/src/frames.rs:
rt/src/pvh.rs:
rt/src/time_conv.rs:
rt/src/arch/mod.rs:
rt/src/arch/apic.rs:
rt/src/arch/context.rs:
rt/src/arch/cpu.rs:
rt/src/arch/entry.rs:
rt/src/arch/gdt.rs:
rt/src/arch/paging.rs:
rt/src/arch/pvh.rs:
rt/src/arch/stacks.rs:
rt/src/arch/trap.rs:
rt/src/arch/tsc.rs:
rt/src/boot.rs:
rt/src/console.rs:
rt/src/env.rs:
rt/src/mem/mod.rs:
rt/src/mem/frames.rs:
rt/src/mem/heap.rs:
rt/src/mem/stack.rs:
rt/src/panic.rs:
rt/src/platform/mod.rs:
rt/src/platform/kvmclock.rs:
rt/src/platform/pc.rs:
rt/src/platform/vessel.rs:
rt/src/sync/mod.rs:
rt/src/sync/condvar.rs:
rt/src/sync/mutex.rs:
rt/src/sync/spin.rs:
rt/src/task/mod.rs:
rt/src/task/sched.rs:
rt/src/task/wait_queue.rs:
rt/src/time.rs:
rt/src/user.rs:
