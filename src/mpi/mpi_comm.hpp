#pragma once

// The little of MPI that spindle-mpi uses, over byte strings: every message is a packed buffer
// (Packer/Unpacker), so no MPI datatype is declared anywhere. Calls come from the main thread
// only (MPI_THREAD_FUNNELED): the walk's and the readers' threads never talk to other ranks.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace spindle::mpi {

// MPI_Init on construction, MPI_Finalize on destruction; one per process.
class Session {
 public:
  Session(int& argc, char**& argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  int rank() const { return m_rank; }
  int size() const { return m_size; }
  bool root() const { return m_rank == 0; }

 private:
  int m_rank = 0;
  int m_size = 1;
};

// Ends every rank of the job with `code` (MPI_Abort): a rank that fails must not leave the others
// waiting in a collective for it.
[[noreturn]] void abort_job(int code);

// Appends fixed-width integers (native byte order: ranks of one job share an architecture) and
// length-prefixed strings.
class Packer {
 public:
  void u64(std::uint64_t value) { put(&value, sizeof value); }
  void u32(std::uint32_t value) { put(&value, sizeof value); }
  void str(std::string_view text) {
    u64(text.size());
    m_bytes.append(text);
  }
  std::string& bytes() { return m_bytes; }

 private:
  void put(const void* data, std::size_t size) { m_bytes.append(static_cast<const char*>(data), size); }
  std::string m_bytes;
};

// Reads what a Packer wrote; a short buffer is a broken invariant (Fatal), never a crash.
class Unpacker {
 public:
  explicit Unpacker(std::string_view bytes) : m_bytes(bytes) {}
  bool done() const { return m_at == m_bytes.size(); }
  std::uint64_t u64();
  std::uint32_t u32();
  std::string_view str();

 private:
  void get(void* data, std::size_t size);
  std::string_view m_bytes;
  std::size_t m_at = 0;
};

// Point to point, any size (a length, then pieces of at most 1 GiB).
void send(int dest, int tag, std::string_view bytes);
std::string receive(int source, int tag);
// Blocks until a message with `tag` arrives from any rank; returns its source and bytes. Such
// messages are single pieces (at most 1 GiB: walk batches and their answers).
std::string receive_any(int tag, int& source);
// A message of at most 1 GiB, for receive_any.
void send_small(int dest, int tag, std::string_view bytes);

// Every rank gives outboxes[d] to rank d and gets back inbox[s] from each rank s (MPI_Alltoallv,
// in rounds of bounded size so that no count passes MPI's int).
std::vector<std::string> exchange(std::vector<std::string> outboxes);

// Rank 0 gets every rank's bytes (its own first); the others get an empty vector.
std::vector<std::string> gather(std::string mine);
// Rank 0's bytes to every rank.
void broadcast(std::string& bytes);
// Rank 0's value to every rank.
int broadcast(int value);
// The largest of every rank's value.
std::uint64_t max_of(std::uint64_t value);

}  // namespace spindle::mpi
