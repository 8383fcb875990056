// probe: the packet side of the end-to-end tests. Echo servers, and many client probes run at
// once, each in its own network namespace, under one shared deadline.
//
//   probe serve --tcp 22,80 --udp 53 --ready FILE
//       Echo servers on [::] (dual stack) in the current namespace; creates FILE once every
//       socket listens, then runs until killed. UDP replies leave from the address the request
//       was sent to (IPV6_PKTINFO), so connected client sockets and conntrack accept them.
//
//   probe check --netns-prefix P [--timeout-ms 2000] [--id-base 20000] < FLOWS
//       One flow a line: `EXPECT NS PROTO DST [PORT] [src=ADDR] [sport=N]`, EXPECT `ok` (the
//       echo came back) or `drop` (nothing came back before the deadline); NS names the
//       namespace /run/netns/<P><NS>; PROTO tcp, udp or icmp (ICMP or ICMPv6 by DST's family).
//       Prints one line per flow and exits 1 if any verdict differs from EXPECT.
//       Example line: `ok w2 tcp 198.18.1.1 80`.
//
//   probe hold --netns-prefix P NS DST PORT --go FILE [--src ADDR]
//       Opens a TCP connection and does an echo round trip, prints `held`, waits until FILE
//       exists, does a second round trip and prints `survived` (exit 0) or `broken: …` (1).
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "probe: %s\n", what.c_str());
  std::exit(2);
}

std::vector<int> ParsePorts(const std::string& list) {
  std::vector<int> ports;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) {
      ports.push_back(std::atoi(item.c_str()));
    }
  }
  return ports;
}

// An address with a port, IPv4 or IPv6.
struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = 0;
};

bool ParseEndpoint(const std::string& host, int port, Endpoint* out) {
  *out = Endpoint{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out->addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out->addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out->len = sizeof(*v4);
    out->family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out->len = sizeof(*v6);
    out->family = AF_INET6;
    return true;
  }
  return false;
}

int MsLeft(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Waits for `events` on fd until the deadline; true when ready.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = poll(&p, 1, MsLeft(deadline));
    if (n > 0) {
      return true;
    }
    if (n == 0) {
      return false;
    }
    if (errno != EINTR) {
      return false;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// serve

int Serve(const std::vector<int>& tcp_ports, const std::vector<int>& udp_ports,
          const std::string& ready) {
  std::vector<pollfd> fds;
  std::map<int, char> kind;  // fd -> 'L' TCP listener, 'U' UDP, 'C' TCP connection
  auto open_socket = [&](int type, int port) {
    int fd = socket(AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      Die("socket: " + std::string(strerror(errno)));
    }
    int zero = 0, one = 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    a.sin6_port = htons(port);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      Die("bind port " + std::to_string(port) + ": " + strerror(errno));
    }
    return fd;
  };
  for (int port : tcp_ports) {
    int fd = open_socket(SOCK_STREAM, port);
    if (listen(fd, 64) != 0) {
      Die("listen: " + std::string(strerror(errno)));
    }
    fds.push_back({fd, POLLIN, 0});
    kind[fd] = 'L';
  }
  for (int port : udp_ports) {
    int fd = open_socket(SOCK_DGRAM, port);
    int one = 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
    fds.push_back({fd, POLLIN, 0});
    kind[fd] = 'U';
  }
  if (!ready.empty()) {
    int fd = open(ready.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      Die("cannot create " + ready);
    }
    close(fd);
  }
  char buf[2048];
  for (;;) {
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      Die("poll: " + std::string(strerror(errno)));
    }
    std::vector<pollfd> added;
    for (auto& p : fds) {
      if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) {
        continue;
      }
      char k = kind[p.fd];
      if (k == 'L') {
        int c = accept4(p.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c >= 0) {
          added.push_back({c, POLLIN, 0});
          kind[c] = 'C';
        }
      } else if (k == 'C') {
        ssize_t n = read(p.fd, buf, sizeof(buf));
        if (n > 0) {
          // Echo payloads are tiny: one write is enough.
          (void)!write(p.fd, buf, n);
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          close(p.fd);
          kind.erase(p.fd);
          p.fd = -1;
        }
      } else {
        sockaddr_in6 peer{};
        iovec iov{buf, sizeof(buf)};
        alignas(cmsghdr) char control[256];
        msghdr msg{};
        msg.msg_name = &peer;
        msg.msg_namelen = sizeof(peer);
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        ssize_t n = recvmsg(p.fd, &msg, 0);
        if (n < 0) {
          continue;
        }
        // Reply from the address the request was sent to; let routing pick the interface.
        in6_pktinfo info{};
        bool have_info = false;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            std::memcpy(&info, CMSG_DATA(c), sizeof(info));
            have_info = true;
          }
        }
        iov.iov_len = n;
        msghdr out{};
        out.msg_name = &peer;
        out.msg_namelen = sizeof(peer);
        out.msg_iov = &iov;
        out.msg_iovlen = 1;
        alignas(cmsghdr) char out_control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
        if (have_info) {
          info.ipi6_ifindex = 0;
          out.msg_control = out_control;
          out.msg_controllen = sizeof(out_control);
          cmsghdr* c = CMSG_FIRSTHDR(&out);
          c->cmsg_level = IPPROTO_IPV6;
          c->cmsg_type = IPV6_PKTINFO;
          c->cmsg_len = CMSG_LEN(sizeof(info));
          std::memcpy(CMSG_DATA(c), &info, sizeof(info));
        }
        sendmsg(p.fd, &out, 0);
      }
    }
    std::vector<pollfd> kept;
    for (auto& p : fds) {
      if (p.fd >= 0) {
        kept.push_back({p.fd, POLLIN, 0});
      }
    }
    for (auto& p : added) {
      kept.push_back(p);
    }
    fds.swap(kept);
  }
}

// ---------------------------------------------------------------------------------------------
// client probes

// Moves the calling thread into a namespace (network namespaces are per thread).
std::string EnterNetns(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return "cannot open " + path + ": " + strerror(errno);
  }
  int rc = setns(fd, CLONE_NEWNET);
  int err = errno;
  close(fd);
  if (rc != 0) {
    return "setns " + path + ": " + strerror(err);
  }
  return "";
}

// Binds fd to src (may be empty) and sport (may be 0).
std::string BindSource(int fd, int family, const std::string& src, int sport) {
  if (src.empty() && sport == 0) {
    return "";
  }
  Endpoint local;
  std::string host = src.empty() ? (family == AF_INET ? "0.0.0.0" : "::") : src;
  if (!ParseEndpoint(host, sport, &local) || local.family != family) {
    return "bad source " + host;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&local.addr), local.len) != 0) {
    return "bind " + host + ": " + strerror(errno);
  }
  return "";
}

// Each probe returns "ok", "timeout", "refused" or "error: …".
std::string ProbeTcp(const Endpoint& dst, const std::string& src, int sport,
                     Clock::time_point deadline, int* out_fd) {
  int fd = socket(dst.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return "error: socket: " + std::string(strerror(errno));
  }
  std::string err = BindSource(fd, dst.family, src, sport);
  if (!err.empty()) {
    close(fd);
    return "error: " + err;
  }
  std::string result;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&dst.addr), dst.len) != 0 &&
      errno != EINPROGRESS) {
    result = errno == ECONNREFUSED ? "refused" : "error: connect: " + std::string(strerror(errno));
  } else if (!WaitFor(fd, POLLOUT, deadline)) {
    result = "timeout";
  } else {
    int so_error = 0;
    socklen_t len = sizeof(so_error);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error == ECONNREFUSED) {
      result = "refused";
    } else if (so_error != 0) {
      result = "error: connect: " + std::string(strerror(so_error));
    } else if (write(fd, "probe\n", 6) != 6) {
      result = "error: write";
    } else {
      // A connection was made: the payload must come back too (the echo is the proof).
      std::string got;
      char buf[64];
      while (got.size() < 6 && WaitFor(fd, POLLIN, deadline)) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) {
          break;
        }
        got.append(buf, n);
      }
      result = got == "probe\n" ? "ok" : "timeout";
    }
  }
  if (out_fd != nullptr && result == "ok") {
    *out_fd = fd;
  } else {
    close(fd);
  }
  return result;
}

std::string ProbeUdp(const Endpoint& dst, const std::string& src, int sport,
                     Clock::time_point deadline) {
  int fd = socket(dst.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return "error: socket: " + std::string(strerror(errno));
  }
  std::string err = BindSource(fd, dst.family, src, sport);
  if (!err.empty()) {
    close(fd);
    return "error: " + err;
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&dst.addr), dst.len) != 0) {
    close(fd);
    return "error: connect: " + std::string(strerror(errno));
  }
  std::string result = "timeout";
  // Resend now and then: one lost datagram must not fail an `ok` flow.
  while (Clock::now() < deadline) {
    send(fd, "probe", 5, 0);
    auto round = std::min(deadline, Clock::now() + std::chrono::milliseconds(300));
    if (WaitFor(fd, POLLIN, round)) {
      char buf[64];
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n == 5 && std::memcmp(buf, "probe", 5) == 0) {
        result = "ok";
        break;
      }
      if (n < 0 && errno == ECONNREFUSED) {
        result = "refused";
        break;
      }
    }
  }
  close(fd);
  return result;
}

uint16_t InetChecksum(const unsigned char* data, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) {
    sum += (data[i] << 8) | data[i + 1];
  }
  if (len & 1) {
    sum += data[len - 1] << 8;
  }
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return htons(static_cast<uint16_t>(~sum));
}

std::string ProbeIcmp(const Endpoint& dst, const std::string& src, uint16_t id,
                      Clock::time_point deadline) {
  bool v4 = dst.family == AF_INET;
  int fd = socket(dst.family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  v4 ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6});
  if (fd < 0) {
    return "error: raw socket: " + std::string(strerror(errno));
  }
  std::string err = BindSource(fd, dst.family, src, 0);
  if (!err.empty()) {
    close(fd);
    return "error: " + err;
  }
  if (!v4) {
    icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
    setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter));
  }
  // ICMP and ICMPv6 echo share the layout: type, code, checksum, id, sequence, data.
  unsigned char packet[16] = {};
  packet[0] = v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
  std::memcpy(packet + 4, &id, 2);
  std::memcpy(packet + 8, "fiptgen!", 8);
  std::string result = "timeout";
  for (uint16_t seq = 1; Clock::now() < deadline && result == "timeout"; ++seq) {
    uint16_t nseq = htons(seq);
    std::memcpy(packet + 6, &nseq, 2);
    packet[2] = packet[3] = 0;
    if (v4) {
      uint16_t sum = InetChecksum(packet, sizeof(packet));
      std::memcpy(packet + 2, &sum, 2);
    }  // The kernel fills in the ICMPv6 checksum.
    sendto(fd, packet, sizeof(packet), 0, reinterpret_cast<const sockaddr*>(&dst.addr), dst.len);
    auto round = std::min(deadline, Clock::now() + std::chrono::milliseconds(300));
    while (result == "timeout" && WaitFor(fd, POLLIN, round)) {
      unsigned char buf[1500];
      sockaddr_storage from{};
      socklen_t from_len = sizeof(from);
      ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n <= 0) {
        break;
      }
      const unsigned char* icmp = buf;
      if (v4) {
        size_t ihl = (buf[0] & 0x0f) * 4;
        if (static_cast<size_t>(n) < ihl + 8) {
          continue;
        }
        icmp = buf + ihl;
        n -= ihl;
      }
      if (n < 8 || icmp[0] != (v4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY)) {
        continue;
      }
      if (std::memcmp(icmp + 4, &id, 2) != 0) {
        continue;
      }
      bool same =
          v4 ? reinterpret_cast<sockaddr_in*>(&from)->sin_addr.s_addr ==
                   reinterpret_cast<const sockaddr_in*>(&dst.addr)->sin_addr.s_addr
             : std::memcmp(&reinterpret_cast<sockaddr_in6*>(&from)->sin6_addr,
                           &reinterpret_cast<const sockaddr_in6*>(&dst.addr)->sin6_addr, 16) == 0;
      if (same) {
        result = "ok";
      }
    }
  }
  close(fd);
  return result;
}

struct Flow {
  std::string line;
  std::string expect, ns, proto, dst, src;
  int port = 0, sport = 0;
  std::string got;
};

// UDP source ports and ICMP ids come from --id-base + the flow's index, so that a flow never
// reuses the conntrack entry of an earlier batch (the caller gives each batch its own base).

std::string ParseFlow(const std::string& line, Flow* flow) {
  std::stringstream in(line);
  flow->line = line;
  in >> flow->expect >> flow->ns >> flow->proto >> flow->dst;
  if (flow->expect != "ok" && flow->expect != "drop") {
    return "EXPECT must be ok or drop";
  }
  if (flow->proto != "tcp" && flow->proto != "udp" && flow->proto != "icmp") {
    return "PROTO must be tcp, udp or icmp";
  }
  std::string word;
  while (in >> word) {
    if (word.rfind("src=", 0) == 0) {
      flow->src = word.substr(4);
    } else if (word.rfind("sport=", 0) == 0) {
      flow->sport = std::atoi(word.c_str() + 6);
    } else if (!word.empty() && std::isdigit(static_cast<unsigned char>(word[0]))) {
      flow->port = std::atoi(word.c_str());
    } else {
      return "unknown word " + word;
    }
  }
  if (flow->proto != "icmp" && flow->port == 0) {
    return "needs a port";
  }
  return "";
}

std::string RunFlow(const Flow& flow, const std::string& prefix, int id,
                    Clock::time_point deadline) {
  std::string err = EnterNetns("/run/netns/" + prefix + flow.ns);
  if (!err.empty()) {
    return "error: " + err;
  }
  Endpoint dst;
  if (!ParseEndpoint(flow.dst, flow.port, &dst)) {
    return "error: bad address " + flow.dst;
  }
  if (flow.proto == "tcp") {
    return ProbeTcp(dst, flow.src, flow.sport, deadline, nullptr);
  }
  if (flow.proto == "udp") {
    return ProbeUdp(dst, flow.src, flow.sport ? flow.sport : id, deadline);
  }
  return ProbeIcmp(dst, flow.src, static_cast<uint16_t>(id), deadline);
}

int Check(const std::string& prefix, int timeout_ms, int id_base) {
  std::vector<Flow> flows;
  std::string line;
  int line_no = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') {
      continue;
    }
    Flow flow;
    std::string err = ParseFlow(line.substr(first), &flow);
    if (!err.empty()) {
      Die("flow " + std::to_string(line_no) + ": " + err + ": " + line);
    }
    flows.push_back(flow);
  }
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<std::thread> threads;
  threads.reserve(flows.size());
  for (size_t i = 0; i < flows.size(); ++i) {
    Flow* flow = &flows[i];
    int id = id_base + static_cast<int>(i);
    threads.emplace_back(
        [flow, &prefix, id, deadline] { flow->got = RunFlow(*flow, prefix, id, deadline); });
  }
  for (auto& t : threads) {
    t.join();
  }
  int failed = 0;
  for (const auto& flow : flows) {
    bool pass = flow.expect == "ok" ? flow.got == "ok" : flow.got == "timeout";
    if (!pass) {
      ++failed;
    }
    std::printf("%s  %-60s got %s\n", pass ? "pass" : "FAIL", flow.line.c_str(), flow.got.c_str());
  }
  std::printf("%zu flows, %d failed\n", flows.size(), failed);
  return failed == 0 ? 0 : 1;
}

int Hold(const std::string& prefix, const std::string& ns, const std::string& host, int port,
         const std::string& src, const std::string& go) {
  std::string err = EnterNetns("/run/netns/" + prefix + ns);
  if (!err.empty()) {
    Die(err);
  }
  Endpoint dst;
  if (!ParseEndpoint(host, port, &dst)) {
    Die("bad address " + host);
  }
  int fd = -1;
  std::string result = ProbeTcp(dst, src, 0, Clock::now() + std::chrono::seconds(3), &fd);
  if (result != "ok") {
    std::printf("broken: first round trip: %s\n", result.c_str());
    return 1;
  }
  std::printf("held\n");
  std::fflush(stdout);
  struct stat st;
  while (stat(go.c_str(), &st) != 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto deadline = Clock::now() + std::chrono::seconds(3);
  std::string got;
  if (write(fd, "again\n", 6) == 6) {
    char buf[64];
    while (got.size() < 6 && WaitFor(fd, POLLIN, deadline)) {
      ssize_t n = read(fd, buf, sizeof(buf));
      if (n <= 0) {
        break;
      }
      got.append(buf, n);
    }
  }
  if (got != "again\n") {
    std::printf("broken: no echo on the held connection\n");
    return 1;
  }
  std::printf("survived\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    Die("usage: probe serve|check|hold …");
  }
  std::string mode = args[0];
  std::map<std::string, std::string> flags;
  std::vector<std::string> positional;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i].rfind("--", 0) == 0 && i + 1 < args.size()) {
      flags[args[i]] = args[i + 1];
      ++i;
    } else {
      positional.push_back(args[i]);
    }
  }
  auto flag = [&](const std::string& name, const std::string& fallback) {
    auto it = flags.find(name);
    return it == flags.end() ? fallback : it->second;
  };
  if (mode == "serve") {
    return Serve(ParsePorts(flag("--tcp", "")), ParsePorts(flag("--udp", "")), flag("--ready", ""));
  }
  if (mode == "check") {
    return Check(flag("--netns-prefix", ""), std::atoi(flag("--timeout-ms", "2000").c_str()),
                 std::atoi(flag("--id-base", "20000").c_str()));
  }
  if (mode == "hold" && positional.size() == 3) {
    return Hold(flag("--netns-prefix", ""), positional[0], positional[1],
                std::atoi(positional[2].c_str()), flag("--src", ""), flag("--go", ""));
  }
  Die("usage: probe serve|check|hold …");
}
