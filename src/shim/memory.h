// Keeping an idle shim small. A shim spends nearly all its life waiting in epoll, yet start-up
// (static initializers scattered across the binary) and its first requests fault in most of the
// executable: the kernel maps file pages in 64 KiB "fault-around" blocks, so touching a function
// maps its neighbours too. TrimMemory() gives those pages back: it drops the shim's read-only
// mappings of its own executable from its page tables (they stay in the page cache, shared by
// every shim, and are mapped again on the next touch) and returns free heap to the kernel. The
// serving shim calls it periodically, as containerd's Go shim frees its memory every 30 s.
//
// Thread-safety: call from the shim's one thread.
#pragma once

#include <cstddef>

namespace berth::shim {

// Returns the number of bytes of executable mappings it asked the kernel to drop.
size_t TrimMemory();

}  // namespace berth::shim
