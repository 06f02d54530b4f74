#include "mpi_comm.hpp"

#include <spindle/error.hpp>

#include <climits>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mpi.h>
#include <thread>

namespace spindle::mpi {

namespace {

constexpr std::size_t k_piece = std::size_t{1} << 30;  // below INT_MAX, the most one MPI call moves
constexpr int k_tag_piece = 32000;                     // the pieces of send/receive after their length

void check(int status, const char* what) {
  if (status != MPI_SUCCESS) {
    throw Fatal(std::string("MPI: ") + what + " failed");
  }
}

}  // namespace

Session::Session(int& argc, char**& argv) {
  int provided = 0;
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  // Errors return codes (turned into Fatal, then into an abort of the job), not a silent exit.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &m_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &m_size);
}

Session::~Session() {
  MPI_Finalize();
}

void abort_job(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; should it, this rank still ends
}

std::uint64_t Unpacker::u64() {
  std::uint64_t value = 0;
  get(&value, sizeof value);
  return value;
}

std::uint32_t Unpacker::u32() {
  std::uint32_t value = 0;
  get(&value, sizeof value);
  return value;
}

std::string_view Unpacker::str() {
  const std::uint64_t size = u64();
  if (size > m_bytes.size() - m_at) {
    throw Fatal("MPI: a message from another rank is shorter than its content says");
  }
  std::string_view text = m_bytes.substr(m_at, size);
  m_at += size;
  return text;
}

void Unpacker::get(void* data, std::size_t size) {
  if (size > m_bytes.size() - m_at) {
    throw Fatal("MPI: a message from another rank is shorter than its content says");
  }
  std::memcpy(data, m_bytes.data() + m_at, size);
  m_at += size;
}

void send(int dest, int tag, std::string_view bytes) {
  std::uint64_t size = bytes.size();
  check(MPI_Send(&size, 1, MPI_UINT64_T, dest, tag, MPI_COMM_WORLD), "MPI_Send");
  for (std::size_t at = 0; at < bytes.size(); at += k_piece) {
    const int count = static_cast<int>(std::min(k_piece, bytes.size() - at));
    check(MPI_Send(bytes.data() + at, count, MPI_BYTE, dest, k_tag_piece, MPI_COMM_WORLD), "MPI_Send");
  }
}

std::string receive(int source, int tag) {
  std::uint64_t size = 0;
  check(MPI_Recv(&size, 1, MPI_UINT64_T, source, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
  std::string bytes(size, '\0');
  for (std::size_t at = 0; at < bytes.size(); at += k_piece) {
    const int count = static_cast<int>(std::min(k_piece, bytes.size() - at));
    check(MPI_Recv(bytes.data() + at, count, MPI_BYTE, source, k_tag_piece, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
          "MPI_Recv");
  }
  return bytes;
}

void send_small(int dest, int tag, std::string_view bytes) {
  if (bytes.size() > k_piece) {
    throw Fatal("MPI: a walk message over 1 GiB");
  }
  check(MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, tag, MPI_COMM_WORLD), "MPI_Send");
}

std::string receive_any(int tag, int& source) {
  // Polls with growing naps instead of MPI_Probe, which spins a core at 100%: a rank waiting for
  // the walk's next batch must leave the core to the ranks (and threads) that are listing.
  MPI_Status status;
  for (std::chrono::microseconds nap{10};;) {
    int flag = 0;
    check(MPI_Iprobe(MPI_ANY_SOURCE, tag, MPI_COMM_WORLD, &flag, &status), "MPI_Iprobe");
    if (flag != 0) {
      break;
    }
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::microseconds{1000});
  }
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  std::string bytes(static_cast<std::size_t>(count), '\0');
  source = status.MPI_SOURCE;
  check(MPI_Recv(bytes.data(), count, MPI_BYTE, source, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
  return bytes;
}

std::vector<std::string> exchange(std::vector<std::string> outboxes) {
  int ranks = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const auto n = static_cast<std::size_t>(ranks);
  // A round sends at most this to each rank: a rank then receives at most 512 MiB per round.
  const std::size_t cap = std::max<std::size_t>(std::size_t{1} << 20, (std::size_t{512} << 20) / n);
  std::vector<std::string> inboxes(n);
  std::vector<std::size_t> sent(n, 0);
  std::vector<int> send_counts(n), send_displs(n), recv_counts(n), recv_displs(n);
  std::string send_buffer;
  std::string recv_buffer;
  for (;;) {
    std::uint64_t left = 0;
    for (std::size_t d = 0; d < n; ++d) {
      left += outboxes[d].size() - sent[d];
    }
    if (max_of(left) == 0) {
      break;
    }
    send_buffer.clear();
    for (std::size_t d = 0; d < n; ++d) {
      const std::size_t count = std::min(cap, outboxes[d].size() - sent[d]);
      send_displs[d] = static_cast<int>(send_buffer.size());
      send_counts[d] = static_cast<int>(count);
      send_buffer.append(outboxes[d], sent[d], count);
      sent[d] += count;
      if (sent[d] == outboxes[d].size()) {
        std::string().swap(outboxes[d]);  // sent: its memory goes now, not after the last round
        sent[d] = 0;
      }
    }
    check(MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Alltoall");
    std::size_t total = 0;
    for (std::size_t s = 0; s < n; ++s) {
      recv_displs[s] = static_cast<int>(total);
      total += static_cast<std::size_t>(recv_counts[s]);
    }
    recv_buffer.resize(total);
    check(MPI_Alltoallv(send_buffer.data(), send_counts.data(), send_displs.data(), MPI_BYTE, recv_buffer.data(),
                        recv_counts.data(), recv_displs.data(), MPI_BYTE, MPI_COMM_WORLD),
          "MPI_Alltoallv");
    for (std::size_t s = 0; s < n; ++s) {
      inboxes[s].append(recv_buffer, static_cast<std::size_t>(recv_displs[s]),
                        static_cast<std::size_t>(recv_counts[s]));
    }
  }
  return inboxes;
}

std::vector<std::string> gather(std::string mine) {
  constexpr int k_tag_gather = 31000;
  int rank = 0;
  int ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  std::vector<std::string> all;
  if (rank != 0) {
    send(0, k_tag_gather, mine);
    return all;
  }
  all.push_back(std::move(mine));
  for (int source = 1; source < ranks; ++source) {
    all.push_back(receive(source, k_tag_gather));
  }
  return all;
}

void broadcast(std::string& bytes) {
  std::uint64_t size = bytes.size();
  check(MPI_Bcast(&size, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
  bytes.resize(size);
  for (std::size_t at = 0; at < bytes.size(); at += k_piece) {
    const int count = static_cast<int>(std::min(k_piece, bytes.size() - at));
    check(MPI_Bcast(bytes.data() + at, count, MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
  }
}

int broadcast(int value) {
  check(MPI_Bcast(&value, 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Bcast");
  return value;
}

std::uint64_t max_of(std::uint64_t value) {
  std::uint64_t result = 0;
  check(MPI_Allreduce(&value, &result, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
  return result;
}

}  // namespace spindle::mpi
