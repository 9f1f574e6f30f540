// The engine process's environment: the caller's, with glibc's allocator told to give memory
// back to the system. llama.cpp frees a context's buffers (tens of MB each) when the pool evicts
// it (runtime/contextPool.ts), but glibc's defaults keep much of that: allocations in a worker
// thread's arena and, once a large block has been freed, its raised mmap threshold put later
// buffers on heaps it rarely trims. The pool's byte budget only bounds what the process holds
// if freed memory is returned. Measured with the default model (node-llama-cpp 3.21.1): the
// base model opened at 487-512 MB RSS with glibc's defaults and 443-455 MB with these.

/** One arena; blocks of 128 KiB and up mapped on their own and unmapped when freed; free tops trimmed. */
export const ENGINE_MALLOC_TUNABLES =
    "glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072";

/** The caller's environment plus the allocator settings, on Linux; a GLIBC_TUNABLES the user set wins. */
export function engineHostEnvironment(
    env: NodeJS.ProcessEnv = process.env,
    platform: NodeJS.Platform = process.platform,
): NodeJS.ProcessEnv {
    if (platform !== "linux" || env.GLIBC_TUNABLES !== undefined) return env;
    return {...env, GLIBC_TUNABLES: ENGINE_MALLOC_TUNABLES};
}
