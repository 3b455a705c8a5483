// vsae's OpenFX plug-in: one plug-in per vsae node, each a thin client of the render server (`vsae serve`).
//
// What runs inside the host stays small: no Python, no torch, only libc and libstdc++. Plug-ins are described from
// static tables generated from the node definitions at build time (vsae_plugins.gen.h), so describe never waits on
// Python. A render connects to the server over a Unix socket (starting the server on first use), sends the node's
// parameters, answers the server's requests for source frames by fetching them from the host into POSIX shared
// memory, and copies the server's output into the host's image. Every wait has a time-out and polls the host's
// abort; every fetched image is released on every path; no C++ exception crosses the C ABI; a dead server becomes an
// error message in the host, and the next render starts a new one.

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vsae_ofx_api.h"

struct VsaeParamDesc {
  const char *name, *label, *help;
  int kind;  // 0 double, 1 integer, 2 boolean, 3 choice, 4 string, 5 file path
  double number;
  const char *text;
  int hasRange;
  double min, max, displayMin, displayMax;
  const char *const *choices;
  int choiceCount;
};

struct VsaeClipDesc {
  const char *name;   // the OFX clip name ("Source" for the main input)
  const char *input;  // the node's input name
  int optional;
  int matte;
};

struct VsaePluginDesc {
  const char *identifier, *node, *label, *help;
  int temporal;
  int resizes;  // the output's area differs from the input's (Extend, Upres...): the server says where
  const VsaeClipDesc *clips;
  int clipCount;
  const VsaeParamDesc *params;
  int paramCount;
};

#include "vsae_plugins.gen.h"

namespace {

enum { kDouble = 0, kInteger = 1, kBoolean = 2, kChoice = 3, kString = 4, kPath = 5 };

OfxHost *gHost = nullptr;
const OfxPropertySuiteV1 *gProps = nullptr;
const OfxImageEffectSuiteV1 *gEffects = nullptr;
const OfxParameterSuiteV1 *gParams = nullptr;
const OfxMessageSuiteV1 *gMessage1 = nullptr;
const OfxMessageSuiteV2 *gMessage2 = nullptr;
std::mutex gSpawnMutex;
std::atomic<unsigned> gSegmentCounter{0};

double envSeconds(const char *name, double fallback) {
  const char *v = getenv(name);
  if (!v || !*v) return fallback;
  char *end = nullptr;
  double d = strtod(v, &end);
  return (end && *end == '\0' && d > 0) ? d : fallback;
}

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// ---- messages: tab-separated lines, length-prefixed (ofx_bridge/protocol.py) --------------------------------------
struct Message {
  std::vector<std::vector<std::string>> lines;

  explicit Message(const std::string &op = "") {
    if (!op.empty()) add({"op", op});
  }
  Message &add(std::vector<std::string> fields) {
    lines.push_back(std::move(fields));
    return *this;
  }
  const std::vector<std::string> *find(const std::string &key) const {
    for (const auto &l : lines)
      if (!l.empty() && l[0] == key) return &l;
    return nullptr;
  }
  std::string get(const std::string &key, const std::string &fallback = "") const {
    const auto *l = find(key);
    return (l && l->size() > 1) ? (*l)[1] : fallback;
  }
  std::string op() const { return get("op"); }

  std::string encode() const {
    std::string body;
    for (const auto &line : lines) {
      for (size_t i = 0; i < line.size(); ++i) {
        if (i) body += '\t';
        for (char c : line[i]) {
          if (c == '\\') body += "\\\\";
          else if (c == '\t') body += "\\t";
          else if (c == '\n') body += "\\n";
          else body += c;
        }
      }
      body += '\n';
    }
    uint32_t n = static_cast<uint32_t>(body.size());
    std::string out(4, '\0');
    for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return out + body;
  }

  static Message decode(const std::string &body) {
    Message m;
    std::vector<std::string> fields(1);
    for (size_t i = 0; i < body.size(); ++i) {
      char c = body[i];
      if (c == '\\' && i + 1 < body.size()) {
        char e = body[++i];
        fields.back() += (e == 't') ? '\t' : (e == 'n') ? '\n' : e;
      } else if (c == '\t') {
        fields.emplace_back();
      } else if (c == '\n') {
        m.lines.push_back(std::move(fields));
        fields.assign(1, std::string());
      } else {
        fields.back() += c;
      }
    }
    return m;
  }
};

std::string num(double v) {
  char buf[40];
  snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string num(int v) { return std::to_string(v); }

std::string socketPath() {
  if (const char *p = getenv("VSAE_SOCKET"))
    if (*p) return p;
  std::string folder;
  if (const char *r = getenv("XDG_RUNTIME_DIR"); r && *r) folder = std::string(r) + "/vsae";
  else folder = "/tmp/vsae-" + std::to_string(getuid());
  return folder + "/serve.sock";
}

std::string folderOf(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

// The socket's folder must be one only this user can enter: made here (0700) when missing; an existing one must be
// a real folder of ours with no group/other access, or another user could stand in for the server.
bool privateFolder(const std::string &folder, std::string &error) {
  mkdir(folder.c_str(), 0700);
  struct stat st;
  if (lstat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077)) {
    error = "the vsae socket folder " + folder +
            " is not a private folder of yours (mode 700, not a symlink); remove it or set VSAE_SOCKET";
    return false;
  }
  return true;
}

// ---- finding the render server ----------------------------------------------------------------------------------
// Nothing about the Python that built the bundle is compiled in, so a bundle can move (shared storage, another
// machine). The server command is found when a render first needs it: $VSAE_SERVE_COMMAND (a shell command line),
// else $VSAE_PYTHON (that Python runs -m vsae.cli serve), else the bundle's Contents/Resources/vsae_server.conf
// (`vsae install ofx` writes it: a python= or command= line), else `vsae serve` from $PATH.
struct ServerCommand {
  std::vector<std::string> argv;
  std::string from;  // where it was found, for messages
};

std::string envText(const char *name) {
  const char *v = getenv(name);
  return v ? std::string(v) : std::string();
}

std::string trim(const std::string &text) {
  const size_t a = text.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return std::string();
  return text.substr(a, text.find_last_not_of(" \t\r\n") - a + 1);
}

std::string bundleConfigPath() {
  Dl_info info;
  if (!dladdr(reinterpret_cast<void *>(&envText), &info) || !info.dli_fname) return std::string();
  std::string binary = info.dli_fname;  // .../vsae.ofx.bundle/Contents/Linux-x86-64/vsae.ofx
  size_t slash = binary.rfind('/');
  if (slash == std::string::npos) return std::string();
  slash = binary.rfind('/', slash - 1);
  if (slash == std::string::npos) return std::string();
  return binary.substr(0, slash) + "/Resources/vsae_server.conf";
}

std::string findOnPath(const std::string &name) {
  const std::string path = envText("PATH");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string folder = path.substr(start, end - start);
    if (!folder.empty()) {
      const std::string candidate = folder + "/" + name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  return std::string();
}

ServerCommand shellCommand(const std::string &line, const std::string &from) {
  return ServerCommand{{"/bin/sh", "-c", "exec " + line}, from};
}

ServerCommand pythonCommand(const std::string &python, const std::string &from) {
  return ServerCommand{{python, "-m", "vsae.cli", "serve"}, from};
}

bool findServerCommand(ServerCommand &command, std::string &error) {
  if (const std::string line = trim(envText("VSAE_SERVE_COMMAND")); !line.empty()) {
    command = shellCommand(line, "$VSAE_SERVE_COMMAND");
    return true;
  }
  if (const std::string python = trim(envText("VSAE_PYTHON")); !python.empty()) {
    command = pythonCommand(python, "$VSAE_PYTHON");
    return true;
  }
  const std::string config = bundleConfigPath();
  if (FILE *fh = config.empty() ? nullptr : fopen(config.c_str(), "r")) {
    char buf[4096];
    bool found = false;
    while (!found && fgets(buf, sizeof buf, fh)) {
      const std::string line = trim(buf);
      const size_t eq = line.find('=');
      if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
      const std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
      if (value.empty()) continue;
      if (key == "command") command = shellCommand(value, config), found = true;
      if (key == "python") command = pythonCommand(value, config), found = true;
    }
    fclose(fh);
    if (found) return true;
  }
  if (const std::string vsae = findOnPath("vsae"); !vsae.empty()) {
    command = ServerCommand{{vsae, "serve"}, "$PATH"};
    return true;
  }
  error = "cannot find the vsae render server: set VSAE_PYTHON (a Python with vsae installed) or "
          "VSAE_SERVE_COMMAND, or run `vsae install ofx` again (it writes " +
          (config.empty() ? std::string("the bundle's Contents/Resources/vsae_server.conf") : config) +
          "), or put vsae on PATH";
  return false;
}

// A connection to the render server; closed on destruction.
class Connection {
 public:
  Connection() = default;
  Connection(const Connection &) = delete;
  Connection &operator=(const Connection &) = delete;
  ~Connection() { close(); }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool tryConnect(const std::string &path) {
    close();
    sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return false;
    memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    if (connect(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
      close();
      return false;
    }
    return true;
  }

  // Connect, starting the server if none answers; false with `error` set when none comes up in time.
  bool open(std::string &error) {
    const std::string path = socketPath();
    if (!privateFolder(folderOf(path), error)) return false;
    if (tryConnect(path)) return true;
    {
      std::lock_guard<std::mutex> lock(gSpawnMutex);  // one start per process; the server's lock does the rest
      if (tryConnect(path)) return true;
      if (!spawnServer(path, error)) return false;
    }
    const double deadline = now() + envSeconds("VSAE_SERVER_START_TIMEOUT", 60.0);
    while (now() < deadline) {
      if (tryConnect(path)) return true;
      usleep(50 * 1000);
    }
    error = "the vsae render server did not start within the time-out (see " + folderOf(path) + "/serve.log)";
    return false;
  }

  bool send(const Message &m, std::string &error) {
    const std::string data = m.encode();
    size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);  // never SIGPIPE the host
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error = "the vsae render server closed the connection";
        return false;
      }
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // Wait for a message up to `timeout` seconds, calling `aborted()` every 100 ms; false on time-out, abort or EOF.
  template <typename AbortFn>
  bool receive(Message &m, double timeout, AbortFn aborted, std::string &error, bool &wasAborted) {
    wasAborted = false;
    std::string header, body;
    if (!readExact(header, 4, timeout, aborted, error, wasAborted)) return false;
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(static_cast<unsigned char>(header[i])) << (8 * i);
    if (n > (16u << 20)) {
      error = "the vsae render server sent a malformed message";
      return false;
    }
    if (!readExact(body, n, timeout, aborted, error, wasAborted)) return false;
    m = Message::decode(body);
    return true;
  }

 private:
  template <typename AbortFn>
  bool readExact(std::string &out, size_t n, double timeout, AbortFn aborted, std::string &error, bool &wasAborted) {
    out.resize(n);
    size_t got = 0;
    const double deadline = now() + timeout;
    while (got < n) {
      if (aborted()) {
        wasAborted = true;
        error = "aborted";
        return false;
      }
      if (now() > deadline) {
        error = "the vsae render server did not answer within the time-out";
        return false;
      }
      pollfd p{fd_, POLLIN, 0};
      int r = poll(&p, 1, 100);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) continue;
      ssize_t k = recv(fd_, &out[got], n - got, 0);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) {
        error = "the vsae render server stopped (it will be restarted on the next render)";
        return false;
      }
      got += static_cast<size_t>(k);
    }
    return true;
  }

  static bool spawnServer(const std::string &path, std::string &error) {
    ServerCommand command;
    if (!findServerCommand(command, error)) return false;
    const std::string folder = folderOf(path);
    mkdir(folder.c_str(), 0700);
    const std::string log = folder + "/serve.log";
    std::vector<char *> argv;
    for (std::string &a : command.argv) argv.push_back(&a[0]);
    argv.push_back(nullptr);
    // A failed exec writes its errno here; a successful one closes the pipe (close-on-exec) with nothing written.
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
      error = std::string("cannot start the vsae render server: ") + strerror(errno);
      return false;
    }
    // Everything the child needs is prepared above: between fork and exec only async-signal-safe calls.
    pid_t child = fork();
    if (child < 0) {
      error = std::string("cannot start the vsae render server: ") + strerror(errno);
      ::close(report[0]);
      ::close(report[1]);
      return false;
    }
    if (child == 0) {
      setsid();
      if (fork() != 0) _exit(0);  // the grandchild is adopted by init: the host never has to reap it
      int in = ::open("/dev/null", O_RDONLY);
      int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (in >= 0) dup2(in, 0);
      if (out >= 0) {
        dup2(out, 1);
        dup2(out, 2);
      }
      for (int fd = 3; fd < 1024; ++fd)  // none of the host's files leak into the server
        if (fd != report[1]) ::close(fd);
      execv(argv[0], argv.data());
      const int failure = errno;
      ssize_t written = write(report[1], &failure, sizeof failure);
      (void)written;
      _exit(127);
    }
    ::close(report[1]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    int failure = 0;
    ssize_t got;
    while ((got = read(report[0], &failure, sizeof failure)) < 0 && errno == EINTR) {
    }
    ::close(report[0]);
    if (got == static_cast<ssize_t>(sizeof failure)) {
      error = "cannot start the vsae render server " + command.argv[0] + " (from " + command.from + "): " +
              strerror(failure);
      return false;
    }
    return true;
  }

  int fd_ = -1;
};

// ---- shared memory ----------------------------------------------------------------------------------------------
// Input segments, kept mapped and reused from render to render: a fresh segment's pages must be zeroed by the kernel,
// which costs more than filling them. A segment is taken for one render and given back when that render ends (the
// server reads frames in place and is done with them by then). Unload unlinks them; a server removes those of hosts
// that died.
struct Segment {
  std::string name;
  float *data = nullptr;
  size_t bytes = 0;
};

class SegmentPool {
 public:
  bool take(size_t bytes, Segment &out, std::string &error) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (size_t i = 0; i < free_.size(); ++i)
        if (free_[i].bytes == bytes) {
          out = free_[i];
          free_.erase(free_.begin() + static_cast<ptrdiff_t>(i));
          return true;
        }
    }
    // Unpredictable names: a segment another process made in advance under the next name cannot fail a render.
    unsigned long long nonce = 0;
    if (getrandom(&nonce, sizeof nonce, 0) != static_cast<ssize_t>(sizeof nonce))
      nonce = static_cast<unsigned long long>(now() * 1e9) ^ reinterpret_cast<uintptr_t>(&nonce);
    char buf[64];
    snprintf(buf, sizeof buf, "/vsae-h%d-%u-%016llx", static_cast<int>(getpid()), gSegmentCounter.fetch_add(1),
             nonce);
    int fd = shm_open(buf, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0) {
      error = std::string("shared memory: ") + strerror(errno);
      return false;
    }
    const size_t size = std::max<size_t>(bytes, 1);
    void *p = MAP_FAILED;
    if (ftruncate(fd, static_cast<off_t>(size)) == 0)
      p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) {
      error = std::string("shared memory: ") + strerror(errno);
      shm_unlink(buf);
      return false;
    }
    out = Segment{buf, static_cast<float *>(p), bytes};
    return true;
  }
  void give(const Segment &s) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(s);
    while (free_.size() > 8) {  // a few frames' worth; older ones go
      destroy(free_.front());
      free_.erase(free_.begin());
    }
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto &s : free_) destroy(s);
    free_.clear();
  }

 private:
  static void destroy(const Segment &s) {
    munmap(s.data, std::max<size_t>(s.bytes, 1));
    shm_unlink(s.name.c_str());
  }
  std::mutex mutex_;
  std::vector<Segment> free_;
};

SegmentPool gPool;

// The segments one render uses; back to the pool when the render ends, on every path.
class Segments {
 public:
  ~Segments() {
    for (auto &s : taken_) gPool.give(s);
  }
  float *take(size_t bytes, std::string &name, std::string &error) {
    Segment s;
    if (!gPool.take(bytes, s, error)) return nullptr;
    taken_.push_back(s);
    name = s.name;
    return s.data;
  }

 private:
  std::vector<Segment> taken_;
};

// A read-only mapping of a segment the server made; unmapped on destruction.
struct Mapping {
  void *data = MAP_FAILED;
  size_t size = 0;
  ~Mapping() {
    if (data != MAP_FAILED) munmap(data, size);
  }
  bool open(const std::string &name, size_t bytes) {
    int fd = shm_open(name.c_str(), O_RDONLY | O_NOFOLLOW, 0);
    if (fd < 0) return false;
    struct stat st;  // only a private segment of this user's server is read
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) ||
        static_cast<size_t>(st.st_size) < bytes) {
      ::close(fd);
      return false;
    }
    size = std::max<size_t>(bytes, 1);
    data = mmap(nullptr, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
    ::close(fd);
    return data != MAP_FAILED;
  }
};

// ---- host images ------------------------------------------------------------------------------------------------
// An image fetched from the host; released when this goes out of scope, on every path.
class HostImage {
 public:
  HostImage() = default;
  HostImage(const HostImage &) = delete;
  HostImage &operator=(const HostImage &) = delete;
  ~HostImage() { release(); }
  OfxStatus fetch(OfxImageClipHandle clip, OfxTime time) {
    release();
    return gEffects->clipGetImage(clip, time, nullptr, &handle_);
  }
  void release() {
    if (handle_) gEffects->clipReleaseImage(handle_);
    handle_ = nullptr;
  }
  OfxPropertySetHandle handle() const { return handle_; }

 private:
  OfxPropertySetHandle handle_ = nullptr;
};

struct ImageView {
  char *data = nullptr;
  OfxRectI bounds{0, 0, 0, 0};
  int rowBytes = 0;
  int components = 0;
  bool isFloat = false;
  std::string premultiplication;
};

bool describeImage(OfxPropertySetHandle image, ImageView &v) {
  void *data = nullptr;
  char *comps = nullptr, *depth = nullptr, *premult = nullptr;
  if (gProps->propGetPointer(image, kOfxImagePropData, 0, &data) != kOfxStatOK || !data) return false;
  gProps->propGetIntN(image, kOfxImagePropBounds, 4, &v.bounds.x1);
  gProps->propGetInt(image, kOfxImagePropRowBytes, 0, &v.rowBytes);
  gProps->propGetString(image, kOfxImageEffectPropComponents, 0, &comps);
  gProps->propGetString(image, kOfxImageEffectPropPixelDepth, 0, &depth);
  if (gProps->propGetString(image, kOfxImageEffectPropPreMultiplication, 0, &premult) == kOfxStatOK && premult)
    v.premultiplication = premult;
  v.data = static_cast<char *>(data);
  const std::string c = comps ? comps : "";
  v.components = c == kOfxImageComponentRGBA    ? 4
                 : c == kOfxImageComponentRGB   ? 3
                 : c == kOfxImageComponentAlpha ? 1
                                                : 0;
  v.isFloat = depth && strcmp(depth, kOfxBitDepthFloat) == 0;
  return true;
}

// ---- instances --------------------------------------------------------------------------------------------------
struct Instance {
  int plugin = 0;
  std::string context;
  std::string id;
  std::vector<OfxParamHandle> params;
};

Instance *instanceOf(OfxImageEffectHandle effect) {
  OfxPropertySetHandle props = nullptr;
  void *p = nullptr;
  if (gEffects->getPropertySet(effect, &props) != kOfxStatOK) return nullptr;
  if (gProps->propGetPointer(props, kOfxPropInstanceData, 0, &p) != kOfxStatOK) return nullptr;
  return static_cast<Instance *>(p);
}

void reportError(OfxImageEffectHandle effect, const std::string &text) {
  if (gMessage2 && gMessage2->setPersistentMessage)  // Resolve may leave this pointer NULL: check it
    gMessage2->setPersistentMessage(effect, kOfxMessageError, "vsae", "%s", text.c_str());
  else if (gMessage2 && gMessage2->message)
    gMessage2->message(effect, kOfxMessageError, "vsae", "%s", text.c_str());
  else if (gMessage1 && gMessage1->message)
    gMessage1->message(effect, kOfxMessageError, "vsae", "%s", text.c_str());
}

void clearError(OfxImageEffectHandle effect) {
  if (gMessage2 && gMessage2->clearPersistentMessage) gMessage2->clearPersistentMessage(effect);
}

OfxImageClipHandle clipNamed(OfxImageEffectHandle effect, const char *name) {
  OfxImageClipHandle clip = nullptr;
  if (gEffects->clipGetHandle(effect, name, &clip, nullptr) != kOfxStatOK) return nullptr;
  return clip;
}

bool clipConnected(OfxImageClipHandle clip) {
  OfxPropertySetHandle props = nullptr;
  int connected = 0;
  if (!clip || gEffects->clipGetPropertySet(clip, &props) != kOfxStatOK) return false;
  gProps->propGetInt(props, kOfxImageClipPropConnected, 0, &connected);
  return connected != 0;
}

// The request header every server op shares: node, parameter values at `time`, the clips' range and connections.
// scale: the render scale (proxy renders hand images that much smaller than the canonical region of definition).
Message request(const char *op, OfxImageEffectHandle effect, const Instance &inst, OfxTime time, bool probe = false,
                double scale = 1.0) {
  const VsaePluginDesc &d = kPluginDescs[inst.plugin];
  Message m(op);
  m.add({"node", d.node}).add({"instance", inst.id}).add({"time", num(time)}).add({"scale", num(scale)});
  for (int i = 0; i < d.paramCount; ++i) {
    const VsaeParamDesc &p = d.params[i];
    OfxParamHandle h = inst.params[i];
    std::string value;
    if (p.kind == kDouble) {
      double v = p.number;
      gParams->paramGetValueAtTime(h, time, &v);
      value = num(v);
    } else if (p.kind == kInteger || p.kind == kBoolean) {
      int v = static_cast<int>(p.number);
      gParams->paramGetValueAtTime(h, time, &v);
      value = num(v);
    } else if (p.kind == kChoice) {
      int v = static_cast<int>(p.number);
      gParams->paramGetValueAtTime(h, time, &v);
      value = (v >= 0 && v < p.choiceCount) ? p.choices[v] : p.choices[static_cast<int>(p.number)];
    } else {
      const char *v = nullptr;
      gParams->paramGetValueAtTime(h, time, &v);
      value = v ? v : "";
    }
    if (strncmp(p.name, "vsae_", 5) == 0) {
      const char *key = p.name + 5;  // bridge parameters travel as their own lines
      m.add({key, key == std::string("train") ? (value == "1" ? "1" : "0") : value});
    } else {
      m.add({"param", p.name, value});
    }
  }
  OfxImageClipHandle source = clipNamed(effect, kOfxImageEffectSimpleSourceClipName);
  OfxPropertySetHandle sp = nullptr;
  double range[2] = {time, time};
  if (source && gEffects->clipGetPropertySet(source, &sp) == kOfxStatOK)
    gProps->propGetDoubleN(sp, kOfxImageEffectPropFrameRange, 2, range);
  m.add({"range", num(range[0]), num(range[1])});
  char *hostSpace = nullptr;  // OpenFX 1.5: how the host's source pixels are encoded
  if (sp && gProps->propGetString(sp, kOfxImageClipPropColourspace, 0, &hostSpace) == kOfxStatOK && hostSpace &&
      *hostSpace)
    m.add({"host_colorspace", hostSpace});
  for (int i = 0; i < d.clipCount; ++i) {
    const VsaeClipDesc &c = d.clips[i];
    if (inst.context == kOfxImageEffectContextFilter && i > 0) continue;  // the filter context has Source only
    OfxImageClipHandle clip = clipNamed(effect, c.name);
    if (!clipConnected(clip)) continue;
    if (probe && c.optional) {  // Resolve reports unconnected optional clips connected, then gives NULL images
      HostImage image;
      if (image.fetch(clip, time) != kOfxStatOK || !image.handle()) continue;
    }
    m.add({"connected", c.input});
  }
  OfxRectD rod{0, 0, 0, 0};
  if (source && gEffects->clipGetRegionOfDefinition(source, time, &rod) == kOfxStatOK)
    m.add({"size", num(static_cast<int>(std::lround((rod.x2 - rod.x1) * scale))),
           num(static_cast<int>(std::lround((rod.y2 - rod.y1) * scale)))});
  return m;
}

// One question and its answer (frames_needed, region): no frames travel, no abort to poll.
bool ask(const Message &question, Message &answer, std::string &error) {
  Connection conn;
  bool aborted = false;
  if (!conn.open(error) || !conn.send(question, error)) return false;
  if (!conn.receive(answer, envSeconds("VSAE_TIMEOUT", 60.0), [] { return false; }, error, aborted)) return false;
  if (answer.op() == "error") {
    error = answer.get("message", "the render server failed");
    return false;
  }
  return true;
}

// ---- actions ------------------------------------------------------------------------------------------------------
OfxStatus onLoad() {
  if (!gHost) return kOfxStatErrMissingHostFeature;
  gProps = static_cast<const OfxPropertySuiteV1 *>(gHost->fetchSuite(gHost->host, kOfxPropertySuite, 1));
  gEffects = static_cast<const OfxImageEffectSuiteV1 *>(gHost->fetchSuite(gHost->host, kOfxImageEffectSuite, 1));
  gParams = static_cast<const OfxParameterSuiteV1 *>(gHost->fetchSuite(gHost->host, kOfxParameterSuite, 1));
  gMessage2 = static_cast<const OfxMessageSuiteV2 *>(gHost->fetchSuite(gHost->host, kOfxMessageSuite, 2));
  gMessage1 = static_cast<const OfxMessageSuiteV1 *>(gHost->fetchSuite(gHost->host, kOfxMessageSuite, 1));
  return (gProps && gEffects && gParams) ? kOfxStatOK : kOfxStatErrMissingHostFeature;
}

OfxStatus onDescribe(int index, OfxImageEffectHandle effect) {
  const VsaePluginDesc &d = kPluginDescs[index];
  OfxPropertySetHandle props = nullptr;
  if (gEffects->getPropertySet(effect, &props) != kOfxStatOK) return kOfxStatErrBadHandle;
  gProps->propSetString(props, kOfxPropLabel, 0, d.label);
  gProps->propSetString(props, kOfxPropPluginDescription, 0, d.help);
  gProps->propSetString(props, kOfxImageEffectPluginPropGrouping, 0, kGroup);
  // Resolve and Nuke offer no retimer context: every node, Retime included, is a filter and a general effect.
  gProps->propSetString(props, kOfxImageEffectPropSupportedContexts, 0, kOfxImageEffectContextFilter);
  gProps->propSetString(props, kOfxImageEffectPropSupportedContexts, 1, kOfxImageEffectContextGeneral);
  gProps->propSetString(props, kOfxImageEffectPropSupportedPixelDepths, 0, kOfxBitDepthFloat);
  gProps->propSetInt(props, kOfxImageEffectPropSupportsTiles, 0, 0);  // the server renders whole frames
  gProps->propSetInt(props, kOfxImageEffectPropSupportsMultiResolution, 0, 1);
  gProps->propSetInt(props, kOfxImageEffectPropTemporalClipAccess, 0, d.temporal);
  gProps->propSetString(props, kOfxImageEffectPluginRenderThreadSafety, 0, kOfxImageEffectRenderFullySafe);
  gProps->propSetInt(props, kOfxImageEffectPluginPropHostFrameThreading, 0, 0);
  // OpenFX 1.5 colour management: a host that offers it says what its pixels are (and may convert them to the
  // scene-linear the nodes work in); hosts without it ignore the property.
  gProps->propSetString(props, kOfxImageEffectPropColourManagementStyle, 0, kOfxImageEffectPropColourManagementCore);
  return kOfxStatOK;
}

OfxStatus defineParam(OfxParamSetHandle set, const VsaeParamDesc &p) {
  static const char *const types[] = {kOfxParamTypeDouble, kOfxParamTypeInteger, kOfxParamTypeBoolean,
                                      kOfxParamTypeChoice, kOfxParamTypeString, kOfxParamTypeString};
  OfxPropertySetHandle props = nullptr;
  OfxStatus st = gParams->paramDefine(set, types[p.kind], p.name, &props);
  if (st != kOfxStatOK || !props) return st == kOfxStatOK ? kOfxStatErrBadHandle : st;
  gProps->propSetString(props, kOfxPropLabel, 0, p.label);
  gProps->propSetString(props, kOfxParamPropHint, 0, p.help);
  gProps->propSetString(props, kOfxParamPropScriptName, 0, p.name);
  switch (p.kind) {
    case kDouble:
      gProps->propSetDouble(props, kOfxParamPropDefault, 0, p.number);
      if (p.hasRange) {
        gProps->propSetDouble(props, kOfxParamPropMin, 0, p.min);
        gProps->propSetDouble(props, kOfxParamPropMax, 0, p.max);
        gProps->propSetDouble(props, kOfxParamPropDisplayMin, 0, p.displayMin);
        gProps->propSetDouble(props, kOfxParamPropDisplayMax, 0, p.displayMax);
      }
      break;
    case kInteger:
      gProps->propSetInt(props, kOfxParamPropDefault, 0, static_cast<int>(p.number));
      if (p.hasRange) {
        gProps->propSetInt(props, kOfxParamPropMin, 0, static_cast<int>(p.min));
        gProps->propSetInt(props, kOfxParamPropMax, 0, static_cast<int>(p.max));
        gProps->propSetInt(props, kOfxParamPropDisplayMin, 0, static_cast<int>(p.displayMin));
        gProps->propSetInt(props, kOfxParamPropDisplayMax, 0, static_cast<int>(p.displayMax));
      }
      break;
    case kBoolean:
      gProps->propSetInt(props, kOfxParamPropDefault, 0, static_cast<int>(p.number));
      break;
    case kChoice:
      for (int i = 0; i < p.choiceCount; ++i) gProps->propSetString(props, kOfxParamPropChoiceOption, i, p.choices[i]);
      gProps->propSetInt(props, kOfxParamPropDefault, 0, static_cast<int>(p.number));
      break;
    default:
      gProps->propSetString(props, kOfxParamPropDefault, 0, p.text);
      gProps->propSetString(props, kOfxParamPropStringMode, 0,
                            p.kind == kPath ? kOfxParamStringIsFilePath : kOfxParamStringIsSingleLine);
      gProps->propSetInt(props, kOfxParamPropAnimates, 0, 0);
  }
  return kOfxStatOK;
}

OfxStatus defineClip(OfxImageEffectHandle effect, const char *name, bool optional, bool matte, bool temporal) {
  OfxPropertySetHandle props = nullptr;
  OfxStatus st = gEffects->clipDefine(effect, name, &props);
  if (st != kOfxStatOK || !props) return st == kOfxStatOK ? kOfxStatErrBadHandle : st;
  int n = 0;
  gProps->propSetString(props, kOfxImageEffectPropSupportedComponents, n++, kOfxImageComponentRGBA);
  if (strcmp(name, kOfxImageEffectOutputClipName) != 0) {
    gProps->propSetString(props, kOfxImageEffectPropSupportedComponents, n++, kOfxImageComponentRGB);
    if (matte) gProps->propSetString(props, kOfxImageEffectPropSupportedComponents, n++, kOfxImageComponentAlpha);
  }
  gProps->propSetInt(props, kOfxImageEffectPropSupportsTiles, 0, 0);
  gProps->propSetInt(props, kOfxImageEffectPropTemporalClipAccess, 0, temporal ? 1 : 0);
  gProps->propSetInt(props, kOfxImageClipPropOptional, 0, optional ? 1 : 0);
  gProps->propSetInt(props, kOfxImageClipPropIsMask, 0, matte ? 1 : 0);
  return kOfxStatOK;
}

OfxStatus onDescribeInContext(int index, OfxImageEffectHandle effect, OfxPropertySetHandle inArgs) {
  const VsaePluginDesc &d = kPluginDescs[index];
  char *context = nullptr;
  gProps->propGetString(inArgs, kOfxImageEffectPropContext, 0, &context);
  const bool filter = context && strcmp(context, kOfxImageEffectContextFilter) == 0;
  OfxStatus st = defineClip(effect, kOfxImageEffectOutputClipName, false, false, false);
  for (int i = 0; st == kOfxStatOK && i < d.clipCount; ++i) {
    if (filter && i > 0) break;  // a filter has exactly one input; other inputs need the general context
    st = defineClip(effect, d.clips[i].name, d.clips[i].optional, d.clips[i].matte, d.temporal && i == 0);
  }
  OfxParamSetHandle set = nullptr;
  if (st == kOfxStatOK) st = gEffects->getParamSet(effect, &set);
  for (int i = 0; st == kOfxStatOK && i < d.paramCount; ++i) st = defineParam(set, d.params[i]);
  return st;
}

OfxStatus onCreateInstance(int index, OfxImageEffectHandle effect) {
  OfxPropertySetHandle props = nullptr;
  OfxParamSetHandle set = nullptr;
  if (gEffects->getPropertySet(effect, &props) != kOfxStatOK || gEffects->getParamSet(effect, &set) != kOfxStatOK)
    return kOfxStatErrBadHandle;
  Instance *inst = new (std::nothrow) Instance;
  if (!inst) return kOfxStatErrMemory;
  inst->plugin = index;
  char *context = nullptr;
  gProps->propGetString(props, kOfxImageEffectPropContext, 0, &context);
  inst->context = context ? context : kOfxImageEffectContextGeneral;
  char id[64];
  snprintf(id, sizeof id, "%d-%p", static_cast<int>(getpid()), static_cast<void *>(inst));
  inst->id = id;
  const VsaePluginDesc &d = kPluginDescs[index];
  inst->params.assign(d.paramCount, nullptr);
  for (int i = 0; i < d.paramCount; ++i) {
    if (gParams->paramGetHandle(set, d.params[i].name, &inst->params[i], nullptr) != kOfxStatOK) {
      delete inst;
      return kOfxStatErrBadHandle;
    }
  }
  gProps->propSetPointer(props, kOfxPropInstanceData, 0, inst);
  return kOfxStatOK;
}

// Tells a running server to drop the instance's state; starts none and waits briefly.
void forget(const Instance &inst) {
  Connection conn;
  std::string error;
  Message answer;
  bool aborted = false;
  if (conn.tryConnect(socketPath()) && conn.send(Message("forget").add({"instance", inst.id}), error))
    conn.receive(answer, 1.0, [] { return false; }, error, aborted);
}

OfxStatus onDestroyInstance(OfxImageEffectHandle effect) {
  Instance *inst = instanceOf(effect);
  if (inst && kPluginDescs[inst->plugin].temporal) forget(*inst);
  OfxPropertySetHandle props = nullptr;
  if (gEffects->getPropertySet(effect, &props) == kOfxStatOK)
    gProps->propSetPointer(props, kOfxPropInstanceData, 0, nullptr);
  delete inst;
  return kOfxStatOK;
}

OfxStatus onFramesNeeded(int index, OfxImageEffectHandle effect, OfxPropertySetHandle inArgs,
                         OfxPropertySetHandle outArgs) {
  if (!kPluginDescs[index].temporal) return kOfxStatReplyDefault;
  Instance *inst = instanceOf(effect);
  if (!inst) return kOfxStatErrBadHandle;
  double time = 0;
  gProps->propGetDouble(inArgs, kOfxPropTime, 0, &time);
  Message answer;
  std::string error;
  if (!ask(request("frames_needed", effect, *inst, time), answer, error)) return kOfxStatReplyDefault;
  for (const auto &line : answer.lines) {
    if (line.size() < 2 || line[0] != "input") continue;
    const VsaePluginDesc &d = kPluginDescs[index];
    const char *clip = nullptr;
    for (int i = 0; i < d.clipCount; ++i)
      if (line[1] == d.clips[i].input) clip = d.clips[i].name;
    if (!clip) continue;
    std::vector<double> ranges;  // consecutive frames become one (min, max) pair
    for (size_t i = 2; i < line.size(); ++i) {
      double f = atof(line[i].c_str());
      if (!ranges.empty() && f == ranges.back() + 1) ranges.back() = f;
      else {
        ranges.push_back(f);
        ranges.push_back(f);
      }
    }
    if (!ranges.empty())
      gProps->propSetDoubleN(outArgs, (std::string(kVsaeFrameRangePrefix) + clip).c_str(),
                             static_cast<int>(ranges.size()), ranges.data());
  }
  return kOfxStatOK;
}

OfxStatus onRegionOfDefinition(OfxImageEffectHandle effect, OfxPropertySetHandle inArgs,
                               OfxPropertySetHandle outArgs) {
  Instance *inst = instanceOf(effect);
  if (!inst) return kOfxStatErrBadHandle;
  if (!kPluginDescs[inst->plugin].resizes) return kOfxStatReplyDefault;  // hosts ask often: no round trip
  double time = 0;
  gProps->propGetDouble(inArgs, kOfxPropTime, 0, &time);
  OfxImageClipHandle source = clipNamed(effect, kOfxImageEffectSimpleSourceClipName);
  OfxRectD rod{0, 0, 0, 0};
  if (!source || gEffects->clipGetRegionOfDefinition(source, time, &rod) != kOfxStatOK) return kOfxStatReplyDefault;
  Message answer;
  std::string error;
  if (!ask(request("region", effect, *inst, time), answer, error)) return kOfxStatReplyDefault;
  const auto *w = answer.find("window");
  if (!w || w->size() < 5) return kOfxStatReplyDefault;
  double out[4] = {rod.x1 + atof((*w)[1].c_str()), rod.y1 + atof((*w)[2].c_str()), rod.x1 + atof((*w)[3].c_str()),
                   rod.y1 + atof((*w)[4].c_str())};
  gProps->propSetDoubleN(outArgs, kOfxImageEffectPropRegionOfDefinition, 4, out);
  return kOfxStatOK;
}

// The frames the effect can produce (general context): Retime at half speed makes twice the source's frames.
OfxStatus onTimeDomain(int index, OfxImageEffectHandle effect, OfxPropertySetHandle outArgs) {
  Instance *inst = instanceOf(effect);
  if (!inst) return kOfxStatErrBadHandle;
  if (!kPluginDescs[index].temporal || inst->context != kOfxImageEffectContextGeneral) return kOfxStatReplyDefault;
  OfxImageClipHandle source = clipNamed(effect, kOfxImageEffectSimpleSourceClipName);
  OfxPropertySetHandle sp = nullptr;
  double range[2] = {0, 0};
  if (!source || gEffects->clipGetPropertySet(source, &sp) != kOfxStatOK ||
      gProps->propGetDoubleN(sp, kOfxImageEffectPropFrameRange, 2, range) != kOfxStatOK)
    return kOfxStatReplyDefault;
  Message answer;
  std::string error;
  if (!ask(request("time_domain", effect, *inst, range[0]), answer, error)) return kOfxStatReplyDefault;
  const auto *r = answer.find("range");
  if (!r || r->size() < 3) return kOfxStatReplyDefault;
  double out[2] = {atof((*r)[1].c_str()), atof((*r)[2].c_str())};
  gProps->propSetDoubleN(outArgs, kOfxImageEffectPropFrameRange, 2, out);
  return kOfxStatOK;
}

// The instance's VSAE Colour Space ("auto" when it leaves the encoding to the host).
std::string colourSpaceParam(const Instance &inst) {
  const VsaePluginDesc &d = kPluginDescs[inst.plugin];
  for (int i = 0; i < d.paramCount; ++i) {
    if (strcmp(d.params[i].name, "vsae_colorspace") != 0) continue;
    const char *v = nullptr;
    gParams->paramGetValue(inst.params[i], &v);
    return v ? v : "";
  }
  return "auto";
}

OfxStatus onClipPreferences(int index, OfxImageEffectHandle effect, OfxPropertySetHandle outArgs) {
  const VsaePluginDesc &d = kPluginDescs[index];
  const std::string output = kOfxImageEffectOutputClipName;
  gProps->propSetString(outArgs, (kVsaeComponentsPrefix + output).c_str(), 0, kOfxImageComponentRGBA);
  gProps->propSetString(outArgs, (kVsaeDepthPrefix + output).c_str(), 0, kOfxBitDepthFloat);
  for (int i = 0; i < d.clipCount; ++i)
    gProps->propSetString(outArgs, (kVsaeDepthPrefix + std::string(d.clips[i].name)).c_str(), 0, kOfxBitDepthFloat);
  gProps->propSetString(outArgs, kOfxImageEffectPropPreMultiplication, 0, kOfxImagePreMultiplied);
  // Colour-managed hosts: scene-linear pictures and raw mattes, unless the artist says how the pixels are encoded.
  const Instance *inst = instanceOf(effect);
  const std::string space = inst ? colourSpaceParam(*inst) : std::string("auto");
  if (space.empty() || space == "auto") {
    for (int i = 0; i < d.clipCount; ++i) {
      const std::string key = kVsaePreferredColourspacesPrefix + std::string(d.clips[i].name);
      if (d.clips[i].matte) {
        gProps->propSetString(outArgs, key.c_str(), 0, kOfxColourspaceOfxRaw);
      } else {
        gProps->propSetString(outArgs, key.c_str(), 0, kOfxColourspaceLinRec709Srgb);
        gProps->propSetString(outArgs, key.c_str(), 1, kOfxColourspaceOfxLinear);
      }
    }
  }
  return kOfxStatOK;
}

// The output is encoded as the source was (the server decodes the source and encodes the result the same way).
OfxStatus onOutputColourspace(OfxPropertySetHandle outArgs) {
  gProps->propSetString(outArgs, kOfxImageClipPropColourspace, 0, kVsaeColourspaceOfSource);
  return kOfxStatOK;
}

// Answers the server's `fetch`: the host's image of `input` at `frame`, copied top row first into shared memory.
Message answerFetch(OfxImageEffectHandle effect, const Instance &inst, const Message &fetch, Segments &segments) {
  const VsaePluginDesc &d = kPluginDescs[inst.plugin];
  const std::string input = fetch.get("input");
  const double frame = atof(fetch.get("frame").c_str());
  Message reply("image");
  const char *clipName = nullptr;
  for (int i = 0; i < d.clipCount; ++i)
    if (input == d.clips[i].input && !(inst.context == kOfxImageEffectContextFilter && i > 0))
      clipName = d.clips[i].name;
  OfxImageClipHandle clip = clipName ? clipNamed(effect, clipName) : nullptr;
  if (!clip) return reply.add({"missing", "no such clip in this context"});
  HostImage image;
  ImageView v;
  // Resolve hands NULL images for unconnected optional clips (which it reports connected): a missing image.
  if (image.fetch(clip, frame) != kOfxStatOK || !image.handle() || !describeImage(image.handle(), v))
    return reply.add({"missing", "no image at this frame"});
  if (!v.isFloat || v.components == 0) return reply.add({"missing", "not a float RGBA, RGB or Alpha image"});
  const int w = v.bounds.x2 - v.bounds.x1, h = v.bounds.y2 - v.bounds.y1;
  if (w <= 0 || h <= 0) return reply.add({"missing", "an empty image"});
  const size_t row = static_cast<size_t>(w) * v.components * sizeof(float);
  std::string name, error;
  float *dst = segments.take(row * h, name, error);
  if (!dst) return reply.add({"missing", error});
  for (int r = 0; r < h; ++r) {  // OFX rows go bottom up and may run backwards (negative row bytes)
    const char *src = v.data + static_cast<ptrdiff_t>(h - 1 - r) * v.rowBytes;
    memcpy(reinterpret_cast<char *>(dst) + r * row, src, row);
  }
  reply.add({"shm", name}).add({"size", num(w), num(h)}).add({"components", num(v.components)});
  reply.add({"premultiplied", v.premultiplication == kOfxImageUnPreMultiplied ? "0" : "1"});
  return reply;
}

// Copies the server's output window into the host's output image, inside the render window; zero elsewhere.
bool copyOutput(const Message &done, const ImageView &out, const OfxRectI &window, const OfxRectD &sourceRod,
                double scale, std::string &error) {
  const auto *size = done.find("size");
  const auto *win = done.find("window");
  if (!size || size->size() < 3 || !win || win->size() < 5) {
    error = "the vsae render server sent an incomplete result";
    return false;
  }
  const int w = atoi((*size)[1].c_str()), h = atoi((*size)[2].c_str());
  const int x0 = static_cast<int>(std::lround(sourceRod.x1 * scale)) + atoi((*win)[1].c_str());
  const int y0 = static_cast<int>(std::lround(sourceRod.y1 * scale)) + atoi((*win)[2].c_str());
  Mapping result;
  if (w < 0 || h < 0 || !result.open(done.get("shm"), static_cast<size_t>(w) * h * 4 * sizeof(float))) {
    error = "cannot read the vsae render server's result";
    return false;
  }
  const float *px = static_cast<const float *>(result.data);
  for (int y = window.y1; y < window.y2; ++y) {
    if (y < out.bounds.y1 || y >= out.bounds.y2) continue;
    float *dst = reinterpret_cast<float *>(out.data + static_cast<ptrdiff_t>(y - out.bounds.y1) * out.rowBytes);
    const int row = (y0 + h - 1) - y;  // the server's rows run top down
    const int xa = std::max(window.x1, out.bounds.x1), xb = std::min(window.x2, out.bounds.x2);
    if (out.components == 4 && row >= 0 && row < h && xa >= x0 && xb <= x0 + w) {  // the common case: one memcpy
      if (xb > xa)
        memcpy(dst + static_cast<ptrdiff_t>(xa - out.bounds.x1) * 4,
               px + (static_cast<size_t>(row) * w + (xa - x0)) * 4, static_cast<size_t>(xb - xa) * 4 * sizeof(float));
      continue;
    }
    for (int x = xa; x < xb; ++x) {
      float *d = dst + static_cast<ptrdiff_t>(x - out.bounds.x1) * out.components;
      const int col = x - x0;
      if (row >= 0 && row < h && col >= 0 && col < w) {
        const float *s = px + (static_cast<size_t>(row) * w + col) * 4;
        if (out.components == 4) memcpy(d, s, 4 * sizeof(float));
        else if (out.components == 3) memcpy(d, s, 3 * sizeof(float));
        else d[0] = s[3];
      } else {
        for (int c = 0; c < out.components; ++c) d[c] = 0.0f;
      }
    }
  }
  return true;
}

OfxStatus onRender(OfxImageEffectHandle effect, OfxPropertySetHandle inArgs) {
  Instance *inst = instanceOf(effect);
  if (!inst) return kOfxStatErrBadHandle;
  double time = 0;
  OfxRectI window{0, 0, 0, 0};
  gProps->propGetDouble(inArgs, kOfxPropTime, 0, &time);
  gProps->propGetIntN(inArgs, kOfxImageEffectPropRenderWindow, 4, &window.x1);
  double scale[2] = {1.0, 1.0};
  gProps->propGetDoubleN(inArgs, kOfxImageEffectPropRenderScale, 2, scale);
  if (!(scale[0] > 0) || std::fabs(scale[0] - scale[1]) > 1e-9) {
    reportError(effect, "vsae: render scales other than equal in x and y are not supported");
    return kOfxStatFailed;
  }
  OfxImageClipHandle source = clipNamed(effect, kOfxImageEffectSimpleSourceClipName);
  OfxRectD sourceRod{0, 0, 0, 0};
  if (source) gEffects->clipGetRegionOfDefinition(source, time, &sourceRod);

  auto aborted = [effect] { return gEffects->abort(effect) != 0; };
  std::string error;
  Connection conn;
  if (!conn.open(error) || !conn.send(request("render", effect, *inst, time, true, scale[0]), error)) {
    reportError(effect, "vsae: " + error);
    return kOfxStatFailed;
  }
  Segments segments;  // back to the pool on every path out of this function
  const double timeout = envSeconds("VSAE_TIMEOUT", 60.0);
  while (true) {
    Message m;
    bool wasAborted = false;
    if (!conn.receive(m, timeout, aborted, error, wasAborted)) {
      if (wasAborted) return kOfxStatFailed;  // the host no longer wants this frame: closing tells the server
      reportError(effect, "vsae: " + error);
      return kOfxStatFailed;
    }
    const std::string op = m.op();
    if (op == "wait") continue;
    if (op == "fetch") {
      if (!conn.send(answerFetch(effect, *inst, m, segments), error)) {
        reportError(effect, "vsae: " + error);
        return kOfxStatFailed;
      }
      continue;
    }
    if (op == "error") {
      reportError(effect, "vsae: " + m.get("message", "the render failed"));
      return kOfxStatFailed;
    }
    if (op != "done") {
      reportError(effect, "vsae: unexpected answer from the render server: " + op);
      return kOfxStatFailed;
    }
    OfxImageClipHandle output = clipNamed(effect, kOfxImageEffectOutputClipName);
    HostImage image;
    ImageView out;
    if (!output || image.fetch(output, time) != kOfxStatOK || !image.handle() || !describeImage(image.handle(), out) ||
        !out.isFloat || out.components == 0) {
      reportError(effect, "vsae: the host gave no float output image");
      return kOfxStatFailed;
    }
    const bool ok = copyOutput(m, out, window, sourceRod, scale[0], error);
    conn.send(Message("ack"), error);
    if (!ok) {
      reportError(effect, "vsae: " + error);
      return kOfxStatFailed;
    }
    clearError(effect);
    return kOfxStatOK;
  }
}

OfxStatus mainEntry(int index, const char *action, const void *handle, OfxPropertySetHandle inArgs,
                    OfxPropertySetHandle outArgs) {
  try {
    OfxImageEffectHandle effect = static_cast<OfxImageEffectHandle>(const_cast<void *>(handle));
    const std::string a = action ? action : "";
    if (a == kOfxActionLoad) return onLoad();
    if (!gProps || !gEffects || !gParams) return kOfxStatErrMissingHostFeature;
    if (a == kOfxActionUnload || a == kOfxActionPurgeCaches) {
      gPool.clear();
      return kOfxStatOK;
    }
    if (a == kOfxActionDescribe) return onDescribe(index, effect);
    if (a == kOfxImageEffectActionDescribeInContext) return onDescribeInContext(index, effect, inArgs);
    if (a == kOfxActionCreateInstance) return onCreateInstance(index, effect);
    if (a == kOfxActionDestroyInstance) return onDestroyInstance(effect);
    if (a == kOfxImageEffectActionGetFramesNeeded) return onFramesNeeded(index, effect, inArgs, outArgs);
    if (a == kOfxImageEffectActionGetRegionOfDefinition) return onRegionOfDefinition(effect, inArgs, outArgs);
    if (a == kOfxImageEffectActionGetClipPreferences) return onClipPreferences(index, effect, outArgs);
    if (a == kOfxImageEffectActionGetOutputColourspace) return onOutputColourspace(outArgs);
    if (a == kOfxImageEffectActionGetTimeDomain) return onTimeDomain(index, effect, outArgs);
    if (a == kOfxImageEffectActionRender) return onRender(effect, inArgs);
    return kOfxStatReplyDefault;
  } catch (const std::bad_alloc &) {
    return kOfxStatErrMemory;
  } catch (...) {  // nothing may unwind into the host
    return kOfxStatErrUnknown;
  }
}

template <int I>
OfxStatus entryFor(const char *action, const void *handle, OfxPropertySetHandle inArgs, OfxPropertySetHandle outArgs) {
  return mainEntry(I, action, handle, inArgs, outArgs);
}

void setHost(OfxHost *host) { gHost = host; }

constexpr int kMaxPlugins = 32;
static_assert(kPluginCount <= kMaxPlugins, "raise kMaxPlugins: more nodes than entry points");

template <int... I>
constexpr std::array<OfxPluginEntryPoint *, sizeof...(I)> makeEntries(std::integer_sequence<int, I...>) {
  return {{&entryFor<I>...}};
}

const std::array<OfxPluginEntryPoint *, kMaxPlugins> kEntries =
    makeEntries(std::make_integer_sequence<int, kMaxPlugins>{});

OfxPlugin gPlugins[kMaxPlugins];

}  // namespace

extern "C" __attribute__((visibility("default"))) int OfxGetNumberOfPlugins(void) { return kPluginCount; }

extern "C" __attribute__((visibility("default"))) OfxPlugin *OfxGetPlugin(int nth) {
  if (nth < 0 || nth >= kPluginCount) return nullptr;
  OfxPlugin &p = gPlugins[nth];
  p.pluginApi = kOfxImageEffectPluginApi;
  p.apiVersion = kOfxImageEffectPluginApiVersion;
  p.pluginIdentifier = kPluginDescs[nth].identifier;
  p.pluginVersionMajor = 1;
  p.pluginVersionMinor = 0;
  p.setHost = setHost;
  p.mainEntry = kEntries[nth];
  return &p;
}
