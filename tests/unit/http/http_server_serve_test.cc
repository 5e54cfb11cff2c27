// HttpServer without a thread of its own (Options::own_thread false): the owner's thread runs the
// I/O in Serve, and the tasks of RunAfter and WhenReadable, until Stop from another thread.
#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <future>
#include <memory>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "server/http/http_server.h"

namespace aarthik::http {
namespace {

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// GET http://ADDRESS/PATH; returns the body ("" on failure).
std::string Get(const std::string& address, const std::string& path) {
  std::string body;
  CURL* curl = curl_easy_init();
  const std::string url = "http://" + address + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  if (curl_easy_perform(curl) != CURLE_OK) body.clear();
  curl_easy_cleanup(curl);
  return body;
}

class HttpServerServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Routes routes;
    routes.Add("GET", "/thread", [this](const HttpRequest&) {
      return HttpResponse{200, "text/plain",
                          std::this_thread::get_id() == serving_thread_id_ ? "serving" : "other"};
    });
    HttpServer::Options options;
    options.listen = "127.0.0.1:0";
    options.own_thread = false;
    absl::StatusOr<std::unique_ptr<HttpServer>> server =
        HttpServer::Start(options, std::move(routes));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // Runs Serve on a new thread; returns a future that is ready once Serve has returned.
  std::future<void> ServeOnAThread() {
    std::promise<std::thread::id> started;
    std::future<std::thread::id> id = started.get_future();
    std::packaged_task<void()> serve([this, started = std::move(started)]() mutable {
      started.set_value(std::this_thread::get_id());
      server_->Serve();
    });
    std::future<void> served = serve.get_future();
    serving_ = std::thread(std::move(serve));
    serving_thread_id_ = id.get();
    return served;
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Stop();
    if (serving_.joinable()) serving_.join();
  }

  std::unique_ptr<HttpServer> server_;
  std::thread serving_;
  std::thread::id serving_thread_id_;
};

TEST_F(HttpServerServeTest, ServeRunsTheHandlersOnTheCallingThreadUntilStop) {
  std::future<void> served = ServeOnAThread();
  EXPECT_EQ(Get(server_->address(), "/thread"), "serving");
  EXPECT_EQ(served.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  server_->Stop();  // returns once Serve's I/O has ended; Serve itself returns right after
  EXPECT_EQ(served.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST_F(HttpServerServeTest, RunAfterAndWhenReadableRunOnTheServingThread) {
  std::future<void> served = ServeOnAThread();
  std::promise<bool> timer_ran;
  server_->RunAfter(absl::ZeroDuration(),
                    [&] { timer_ran.set_value(std::this_thread::get_id() == serving_thread_id_); });
  EXPECT_TRUE(timer_ran.get_future().get());

  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK), 0);
  std::promise<bool> readable;
  server_->WhenReadable(
      pipe_fds[0], [&] { readable.set_value(std::this_thread::get_id() == serving_thread_id_); });
  ASSERT_EQ(write(pipe_fds[1], "x", 1), 1);
  EXPECT_TRUE(readable.get_future().get());
  server_->Stop();
  // The descriptor stays the caller's: the server let go of it without closing it.
  EXPECT_NE(fcntl(pipe_fds[0], F_GETFD), -1);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

TEST_F(HttpServerServeTest, TasksPendingAtStopNeverRunAndTheirDescriptorsStayOpen) {
  std::future<void> served = ServeOnAThread();
  bool ran = false;
  server_->RunAfter(absl::Hours(1), [&] { ran = true; });
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK), 0);
  server_->WhenReadable(pipe_fds[0], [&] { ran = true; });
  server_->Stop();
  served.get();
  server_.reset();  // destroys the pending waits
  EXPECT_FALSE(ran);
  EXPECT_NE(fcntl(pipe_fds[0], F_GETFD), -1);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

TEST_F(HttpServerServeTest, ServeAfterStopReturnsAtOnce) {
  server_->Stop();
  std::future<void> served = ServeOnAThread();  // would serve for good if it ran the I/O
  EXPECT_EQ(served.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

}  // namespace
}  // namespace aarthik::http
