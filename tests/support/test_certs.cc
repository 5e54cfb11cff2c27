#include "tests/support/test_certs.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

extern char** environ;

namespace aarthik::testing {
namespace {

// Runs `openssl args...` (PATH lookup), its output to /dev/null unless it fails.
absl::Status Openssl(const std::vector<std::string>& args, const std::string& log_path) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (std::string& arg : argv) cargv.push_back(arg.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // openssl chats on stderr even when it succeeds; keep it in a log that the error message points
  // to.
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "openssl", &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return absl::FailedPreconditionError("cannot run openssl (is it on PATH?)");
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return absl::InternalError("waitpid(openssl) failed");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat("failed: ", absl::StrJoin(argv, " "), "\n", ReadTextFile(log_path)));
  }
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

class Generator {
 public:
  explicit Generator(std::string dir) : dir_(std::move(dir)), log_(dir_ + "/openssl.log") {}

  // A self-signed CA named `name`.
  absl::StatusOr<CertFiles> Ca(const std::string& name) {
    return Issue(name, absl::StrCat("/CN=Aarthik test CA ", name),
                 "basicConstraints=critical,CA:TRUE\n"
                 "keyUsage=critical,keyCertSign,cRLSign\n"
                 "subjectKeyIdentifier=hash\n",
                 nullptr);
  }

  absl::StatusOr<CertFiles> Server(const std::string& name, const CertFiles& ca,
                                   const std::string& alt_names = "IP:127.0.0.1,DNS:localhost") {
    return Issue(name, "/CN=test-server",
                 absl::StrCat("basicConstraints=CA:FALSE\n"
                              "keyUsage=critical,digitalSignature,keyEncipherment\n"
                              "extendedKeyUsage=serverAuth\n"
                              "subjectAltName=",
                              alt_names, "\n"),
                 &ca);
  }

  absl::StatusOr<CertFiles> Client(const std::string& name, const CertFiles& ca,
                                   const std::string& common_name = "test-client",
                                   const std::string& alt_names = "") {
    return Issue(name, "/CN=" + common_name,
                 absl::StrCat("basicConstraints=CA:FALSE\n"
                              "keyUsage=critical,digitalSignature\n"
                              "extendedKeyUsage=clientAuth\n",
                              alt_names.empty() ? "" : "subjectAltName=" + alt_names + "\n"),
                 &ca);
  }
  // Serials only need to differ per issuer: a generator made later for the same CA starts apart.
  void set_first_serial(int serial) { serial_ = serial; }

 private:
  // A new P-256 key and a certificate with `extensions`, signed by `issuer` (self-signed when
  // null).
  absl::StatusOr<CertFiles> Issue(const std::string& name, const std::string& subject,
                                  const std::string& extensions, const CertFiles* issuer) {
    const std::string base = absl::StrCat(dir_, "/", name);
    CertFiles files{base + ".pem", base + ".key.pem"};
    const std::string csr = base + ".csr", ext = base + ".ext";
    if (absl::Status s = WriteFile(ext, extensions); !s.ok()) return s;
    if (absl::Status s = Openssl({"genpkey", "-algorithm", "EC", "-pkeyopt",
                                  "ec_paramgen_curve:P-256", "-out", files.key},
                                 log_);
        !s.ok()) {
      return s;
    }
    if (absl::Status s =
            Openssl({"req", "-new", "-key", files.key, "-subj", subject, "-out", csr}, log_);
        !s.ok()) {
      return s;
    }
    std::vector<std::string> sign = {"x509",     "-req",        "-in",
                                     csr,        "-days",       "2",
                                     "-sha256",  "-set_serial", absl::StrCat(++serial_),
                                     "-extfile", ext,           "-out",
                                     files.cert};
    if (issuer == nullptr) {
      sign.insert(sign.end(), {"-signkey", files.key});
    } else {
      sign.insert(sign.end(), {"-CA", issuer->cert, "-CAkey", issuer->key});
    }
    if (absl::Status s = Openssl(sign, log_); !s.ok()) return s;
    std::remove(csr.c_str());
    std::remove(ext.c_str());
    return files;
  }

  const std::string dir_;
  const std::string log_;
  // Serials only need to differ per issuer; a per-run counter does that.
  int serial_ = 1000;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TestCerts>> TestCerts::Generate() {
  char dir_template[] = "/tmp/aarthik-certs-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return absl::InternalError("mkdtemp failed");
  std::unique_ptr<TestCerts> certs(new TestCerts());
  certs->dir = dir_template;
  Generator gen(certs->dir);
  absl::StatusOr<CertFiles> ca = gen.Ca("ca");
  if (!ca.ok()) return ca.status();
  certs->ca = *ca;
  absl::StatusOr<CertFiles> other_ca = gen.Ca("other-ca");
  if (!other_ca.ok()) return other_ca.status();
  certs->other_ca = *other_ca;
  for (auto [out, files] :
       {std::pair{&certs->server, gen.Server("server", certs->ca)},
        std::pair{&certs->client, gen.Client("client", certs->ca)},
        std::pair{&certs->other_server, gen.Server("other-server", certs->other_ca)},
        std::pair{&certs->other_client, gen.Client("other-client", certs->other_ca)},
        std::pair{&certs->misnamed_server,
                  gen.Server("misnamed-server", certs->ca, "DNS:elsewhere.test")}}) {
    if (!files.ok()) return files.status();
    *out = *files;
  }
  return certs;
}

absl::StatusOr<CertFiles> IssueClientCert(const std::string& dir, const std::string& name,
                                          const CertFiles& ca, const std::string& common_name,
                                          const std::string& alt_names) {
  Generator gen(dir);
  // Distinct from Generate's serials and from other calls' (a clock in microseconds).
  gen.set_first_serial(static_cast<int>(absl::ToUnixMicros(absl::Now()) % 1'000'000'000));
  return gen.Client(name, ca, common_name, alt_names);
}

TestCerts::~TestCerts() {
  std::error_code ignored;
  if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
}

std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status ReplaceFileAtomically(const std::string& path, const std::string& content) {
  const std::string temp = path + ".new";
  if (absl::Status s = WriteFile(temp, content); !s.ok()) return s;
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", temp, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace aarthik::testing
