// The baseline for hashing one large file: a plain read(2) loop into streaming XXH3-128, the
// least any hasher has to do. largefile.sh compares `spindle hash FILE` with its best buffer size.
//
//   readloop FILE [BUFFER_KIB...]    (default buffer sizes: 64 128 256 512 1024 4096 KiB)
//
// For every buffer size: read the whole file once, print the size, seconds, GB/s and the digest
// (the digests must all agree: the loop really hashed the bytes). One line per buffer size, tab
// separated, so a script can pick the best; nothing else is measured (no threads, no fadvise).
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace {

struct Free {
  void operator()(void* p) const { std::free(p); }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: readloop FILE [BUFFER_KIB...]\n");
    return 2;
  }
  std::vector<std::size_t> sizes;
  for (int i = 2; i < argc; ++i) {
    sizes.push_back(std::strtoull(argv[i], nullptr, 10) * 1024);
  }
  if (sizes.empty()) {
    sizes = {64 << 10, 128 << 10, 256 << 10, 512 << 10, 1 << 20, 4 << 20};
  }
  std::printf("buffer_kib\tseconds\tgb_per_s\tbytes\tdigest\n");
  for (std::size_t size : sizes) {
    // Page-aligned, like the buffers spindle's workers hold.
    std::unique_ptr<std::byte, Free> buffer(static_cast<std::byte*>(std::aligned_alloc(4096, size)));
    const int fd = ::open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0 || !buffer) {
      std::perror(argv[1]);
      return 1;
    }
    XXH3_state_t state;
    XXH3_128bits_reset(&state);
    std::size_t total = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (;;) {
      const ssize_t got = ::read(fd, buffer.get(), size);
      if (got < 0) {
        std::perror("read");
        return 1;
      }
      if (got == 0) {
        break;
      }
      XXH3_128bits_update(&state, buffer.get(), static_cast<std::size_t>(got));
      total += static_cast<std::size_t>(got);
    }
    const XXH128_hash_t digest = XXH3_128bits_digest(&state);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ::close(fd);
    std::printf("%zu\t%.4f\t%.3f\t%zu\t%016llx%016llx\n", size >> 10, seconds,
                static_cast<double>(total) / seconds / 1e9, total, static_cast<unsigned long long>(digest.high64),
                static_cast<unsigned long long>(digest.low64));
  }
  return 0;
}
