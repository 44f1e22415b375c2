// SPDX-License-Identifier: GPL-2.0

//! Running functions on other CPUs.
//!
//! C header: [`include/linux/smp.h`](srctree/include/linux/smp.h)

use crate::{bindings, cpu::CpuId, error::to_result, prelude::*};
use core::ffi::c_void;

/// Calls `f` on the CPU `cpu` and waits until it returned (C `smp_call_function_single()` with
/// `wait` set).
///
/// On another CPU, `f` runs from the function call interrupt, in hard interrupt context with
/// interrupts disabled, so it must not sleep; on the calling CPU it runs directly, with
/// interrupts disabled. A polling idle CPU may also run it from its idle loop, outside hard
/// interrupt context. Must be called with interrupts enabled.
///
/// Fails with `ENXIO` if `cpu` is offline.
///
/// # Examples
///
/// ```
/// use kernel::{cpu::CpuId, smp, sync::atomic::{Atomic, Relaxed}};
///
/// let ran_on = Atomic::new(u32::MAX);
/// let cpu = CpuId::from_u32(0).ok_or(EINVAL)?;
/// smp::call_function_single(cpu, &|| ran_on.store(CpuId::current().as_u32(), Relaxed))?;
/// assert_eq!(ran_on.load(Relaxed), 0);
/// # Ok::<(), Error>(())
/// ```
pub fn call_function_single<F: Fn() + Sync>(cpu: CpuId, f: &F) -> Result {
    /// The C function: calls the closure.
    ///
    /// # Safety
    ///
    /// `info` points to an `F` that is valid for the call.
    unsafe extern "C" fn call<F: Fn() + Sync>(info: *mut c_void) {
        // SAFETY: By the function's safety requirements.
        let f = unsafe { &*info.cast::<F>() };
        f();
    }
    let info = core::ptr::from_ref(f).cast_mut().cast::<c_void>();
    // SAFETY: `call::<F>` matches `smp_call_func_t` and only reads `info` as an `&F`. `wait` is
    // set, so `f` is not used after the call returned. `F: Sync` because another CPU uses it.
    to_result(unsafe {
        bindings::smp_call_function_single(cpu.as_u32() as i32, Some(call::<F>), info, true)
    })
}
