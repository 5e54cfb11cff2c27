#include "tests/support/tls_front.h"

#include <array>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace aarthik::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct TlsFront::Impl {
  asio::io_context io;
  asio::ssl::context ssl{asio::ssl::context::tls_server};
  tcp::acceptor acceptor{io};
  tcp::endpoint backend;
};

// One accepted client: TLS handshake, connect to the backend, then a pump each way. Every pending
// handler holds a shared_ptr to it; the first error or end of stream in either direction closes
// both sides.
class TlsFront::Connection : public std::enable_shared_from_this<TlsFront::Connection> {
 public:
  Connection(TlsFront* front, tcp::socket socket)
      : front_(front), client_(std::move(socket), front->impl_->ssl), backend_(front->impl_->io) {}

  void Run() {
    auto self = shared_from_this();
    client_.async_handshake(asio::ssl::stream_base::server,
                            [self](boost::system::error_code error) {
                              if (error) {
                                ++self->front_->handshakes_failed_;
                                self->Close();
                                return;
                              }
                              ++self->front_->handshakes_completed_;
                              self->backend_.async_connect(self->front_->impl_->backend,
                                                           [self](boost::system::error_code error) {
                                                             if (error) return self->Close();
                                                             self->PumpToBackend();
                                                             self->PumpToClient();
                                                           });
                            });
  }

 private:
  void PumpToBackend() {
    auto self = shared_from_this();
    client_.async_read_some(asio::buffer(from_client_),
                            [self](boost::system::error_code error, size_t n) {
                              if (error) return self->Close();
                              asio::async_write(self->backend_, asio::buffer(self->from_client_, n),
                                                [self](boost::system::error_code error, size_t) {
                                                  if (error) return self->Close();
                                                  self->PumpToBackend();
                                                });
                            });
  }

  void PumpToClient() {
    auto self = shared_from_this();
    backend_.async_read_some(
        asio::buffer(from_backend_), [self](boost::system::error_code error, size_t n) {
          if (error) return self->Close();
          asio::async_write(self->client_, asio::buffer(self->from_backend_, n),
                            [self](boost::system::error_code error, size_t) {
                              if (error) return self->Close();
                              self->PumpToClient();
                            });
        });
  }

  // Abrupt close both ways (no TLS close_notify): enough for HTTP/1.1 with Content-Length, and the
  // client sees a closed connection exactly as it would from a crashed platform.
  void Close() {
    boost::system::error_code ignored;
    client_.lowest_layer().close(ignored);
    backend_.close(ignored);
  }

  TlsFront* const front_;
  asio::ssl::stream<tcp::socket> client_;
  tcp::socket backend_;
  std::array<char, 16384> from_client_;
  std::array<char, 16384> from_backend_;
};

absl::StatusOr<std::unique_ptr<TlsFront>> TlsFront::Start(const Options& options) {
  std::unique_ptr<TlsFront> front(new TlsFront());
  front->impl_ = std::make_unique<Impl>();
  Impl& impl = *front->impl_;
  const size_t colon = options.backend.rfind(':');
  int backend_port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(options.backend.substr(colon + 1), &backend_port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("backend '", options.backend, "' is not HOST:PORT"));
  }
  boost::system::error_code error;
  const asio::ip::address backend_host =
      asio::ip::make_address(options.backend.substr(0, colon), error);
  if (error) return absl::InvalidArgumentError(absl::StrCat("backend host: ", error.message()));
  impl.backend = tcp::endpoint(backend_host, static_cast<unsigned short>(backend_port));

  impl.ssl.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
  impl.ssl.use_certificate_chain_file(options.cert_file, error);
  if (error)
    return absl::InvalidArgumentError(absl::StrCat(options.cert_file, ": ", error.message()));
  impl.ssl.use_private_key_file(options.key_file, asio::ssl::context::pem, error);
  if (error)
    return absl::InvalidArgumentError(absl::StrCat(options.key_file, ": ", error.message()));

  const tcp::endpoint listen(asio::ip::make_address("127.0.0.1"), 0);
  impl.acceptor.open(listen.protocol(), error);
  if (!error) impl.acceptor.bind(listen, error);
  if (!error) impl.acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error)
    return absl::UnavailableError(absl::StrCat("TLS front cannot listen: ", error.message()));
  front->port_ = impl.acceptor.local_endpoint().port();
  front->Accept();
  front->thread_ = std::thread([io = &impl.io] { io->run(); });
  return front;
}

void TlsFront::Accept() {
  impl_->acceptor.async_accept([this](boost::system::error_code error, tcp::socket socket) {
    if (error) return;  // the acceptor was closed: the front is stopping
    std::make_shared<Connection>(this, std::move(socket))->Run();
    Accept();
  });
}

std::string TlsFront::address() const { return absl::StrCat("127.0.0.1:", port_); }

TlsFront::~TlsFront() {
  if (impl_ == nullptr) return;
  impl_->io.stop();
  if (thread_.joinable()) thread_.join();
  // Pending handlers (and the connections they hold) are destroyed with the io_context, after the
  // thread has stopped touching them.
}

}  // namespace aarthik::testing
