// aarthik-sandbox: simulator of the Aarthik Labs REST platform. See docs/sandbox.md.
#include <curl/curl.h>

#include <cstdio>
#include <iostream>

#include "sandbox/config.h"
#include "sandbox/http_server.h"
#include "sandbox/platform.h"

extern char** environ;

int main(int argc, char** argv) {
  using aarthik::sandbox::Config;
  absl::StatusOr<Config> config = aarthik::sandbox::ParseConfig(argc, argv, environ);
  if (!config.ok()) {
    std::cerr << "aarthik-sandbox: " << config.status().message() << "\n\n"
              << aarthik::sandbox::HelpText();
    return 2;
  }
  if (config->help) {
    std::cout << aarthik::sandbox::HelpText();
    return 0;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  aarthik::sandbox::Platform platform(*config);
  aarthik::sandbox::HttpServer server(&platform, config->threads);
  if (!config->tls_cert_file.empty()) {
    absl::Status tls = server.EnableTls(config->tls_cert_file, config->tls_key_file);
    if (!tls.ok()) {
      std::cerr << "aarthik-sandbox: " << tls.message() << "\n";
      return 2;
    }
  }
  absl::StatusOr<std::string> address = server.Listen(config->listen_host, config->listen_port);
  if (!address.ok()) {
    std::cerr << "aarthik-sandbox: " << address.status().message() << "\n";
    return 1;
  }
  platform.Start();
  std::printf("listening %s\n", address->c_str());
  std::fflush(stdout);
  server.Run();
  platform.Stop();
  curl_global_cleanup();
  std::cerr << "aarthik-sandbox: stopped\n";
  return 0;
}
