#include <gtest/gtest.h>
#include <httplib.h>

#include <future>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve/fake_predictor.h"
#include "serve/micro_batcher.h"
#include "serve/server.h"

namespace emotune {
namespace {

using nlohmann::json;
using testing::FakePredictor;

// A server on a free 127.0.0.1 port, running on its own thread for the test's lifetime.
class RunningServer {
 public:
  explicit RunningServer(
      serve::ServerOptions options = {},
      std::shared_ptr<FakePredictor> predictor = std::make_shared<FakePredictor>())
      : predictor_(std::move(predictor)),
        server_(std::make_unique<serve::Server>(predictor_, options)) {
    port_ = server_->bind("127.0.0.1", 0);
    thread_ = std::thread([this] { server_->run(); });
  }
  ~RunningServer() { stop(); }

  void stop() {
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(20, 0);
    // Debian's httplib listens with a backlog of 5: under load a dropped SYN is retried.
    c.set_connection_timeout(20, 0);
    return c;
  }
  FakePredictor& predictor() { return *predictor_; }
  serve::Server& server() { return *server_; }
  int port() const { return port_; }

 private:
  std::shared_ptr<FakePredictor> predictor_;
  std::unique_ptr<serve::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

httplib::Result post_json(httplib::Client& client, const std::string& body) {
  return client.Post("/v1/predict", body, "application/json");
}

// Checks one answer of /v1/predict against the fake predictor's function of the text.
void expect_answer(const json& answer, const std::string& text, std::size_t max_length = 16) {
  const auto expected = FakePredictor::expected(text, max_length);
  EXPECT_DOUBLE_EQ(answer.at("empathy").get<double>(), *expected.empathy) << text;
  EXPECT_DOUBLE_EQ(answer.at("distress").get<double>(), *expected.distress) << text;
  EXPECT_EQ(answer.at("emotion").at("label").get<std::string>(), *expected.emotion) << text;
  const auto& probabilities = answer.at("emotion").at("probabilities");
  ASSERT_EQ(probabilities.size(), predict::kEmotionCount);
  for (std::size_t k = 0; k < predict::kEmotionCount; ++k) {
    EXPECT_DOUBLE_EQ(probabilities.at(predict::emotion_label_names()[k]).get<double>(),
                     (*expected.emotion_probabilities)[k]);
  }
  EXPECT_EQ(answer.at("truncated").get<bool>(), expected.truncated) << text;
  EXPECT_EQ(answer.at("tokens").get<std::size_t>(), expected.token_count) << text;
}

void expect_error(const httplib::Result& result, int status, const std::string& fragment) {
  ASSERT_TRUE(result) << "no response";
  EXPECT_EQ(result->status, status) << result->body;
  const auto body = json::parse(result->body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << result->body;
  ASSERT_TRUE(body.contains("error")) << result->body;
  EXPECT_EQ(body["error"]["status"].get<int>(), status);
  EXPECT_NE(body["error"]["message"].get<std::string>().find(fragment), std::string::npos)
      << body["error"]["message"];
}

TEST(Server, HealthAndModelInfo) {
  RunningServer server;
  auto client = server.client();
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body)["status"], "ok");
  auto model = client.Get("/v1/model");
  ASSERT_TRUE(model);
  ASSERT_EQ(model->status, 200);
  const auto info = json::parse(model->body);
  EXPECT_EQ(info["tasks"], json({"empathy", "distress", "emotion"}));
  EXPECT_EQ(info["backbone"], "fake");
  EXPECT_EQ(info["emotion_labels"].size(), 7u);
  EXPECT_EQ(info["max_length"], 16);
  EXPECT_EQ(info["version"], "fake-1");
  expect_error(client.Get("/nope"), 404, "/nope");
}

TEST(Server, PredictsStringsAndObjectsWithIdsEchoed) {
  RunningServer server;
  auto client = server.client();
  auto plain = post_json(client, R"({"essays": ["I feel sad for them", "what a day"]})");
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->status, 200) << plain->body;
  const auto answers = json::parse(plain->body)["predictions"];
  ASSERT_EQ(answers.size(), 2u);
  expect_answer(answers[0], "I feel sad for them");
  expect_answer(answers[1], "what a day");
  EXPECT_EQ(answers[1]["index"], 1);
  EXPECT_FALSE(answers[0].contains("id"));

  auto with_ids = post_json(
      client,
      R"({"essays": [{"id": "r-7", "text": "héllo wörld"}, {"id": 42, "text": "a b c d e f g h i j k l m n o p q"}]})");
  ASSERT_TRUE(with_ids);
  ASSERT_EQ(with_ids->status, 200) << with_ids->body;
  const auto tagged = json::parse(with_ids->body)["predictions"];
  ASSERT_EQ(tagged.size(), 2u);
  EXPECT_EQ(tagged[0]["id"], "r-7");
  EXPECT_EQ(tagged[1]["id"], 42);
  expect_answer(tagged[0], "héllo wörld");
  expect_answer(tagged[1], "a b c d e f g h i j k l m n o p q");
  EXPECT_TRUE(tagged[1]["truncated"].get<bool>());
  EXPECT_EQ(tagged[1]["tokens"], 16);
}

TEST(Server, MalformedRequestsGet400WithAReason) {
  RunningServer server;
  auto client = server.client();
  expect_error(post_json(client, R"({"essays": ["unterminated)"), 400, "not valid JSON");
  expect_error(post_json(client, ""), 400, "not valid JSON");
  expect_error(post_json(client, "[1, 2]"), 400, "\"essays\"");
  expect_error(post_json(client, R"({"texts": ["a"]})"), 400, "\"essays\"");
  expect_error(post_json(client, R"({"essays": "a"})"), 400, "expected an array");
  expect_error(post_json(client, R"({"essays": []})"), 400, "empty");
  expect_error(post_json(client, R"({"essays": ["ok", 3]})"), 400, "essays[1]");
  expect_error(post_json(client, R"({"essays": [{"id": 1}]})"), 400, "\"text\" is missing");
  expect_error(post_json(client, R"({"essays": [{"id": [1], "text": "a"}]})"), 400, "essays[0].id");
  expect_error(post_json(client, R"({"essays": [{"text": null}]})"), 400, "essays[0]");
  expect_error(post_json(client, "{\"essays\": [\"\xff\xfe\"]}"), 400, "not valid JSON");
  // The server is still fine afterwards.
  auto good = post_json(client, R"({"essays": ["fine"]})");
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200);
}

TEST(Server, OversizedRequestsGet413) {
  serve::ServerOptions options;
  options.max_body_bytes = 2000;
  options.max_essays = 3;
  options.max_chars = 50;
  RunningServer server(options);
  auto client = server.client();
  const std::string huge = R"({"essays": [")" + std::string(5000, 'a') + R"("]})";
  expect_error(post_json(client, huge), 413, "too large");
  expect_error(post_json(client, R"({"essays": ["a", "b", "c", "d"]})"), 413, "at most 3");
  expect_error(post_json(client, R"({"essays": [")" + std::string(51, 'x') + R"("]})"), 413,
               "51 characters");
  // 50 characters of two bytes each are within the limit: characters, not bytes, count.
  std::string fifty_wide;
  for (int i = 0; i < 50; ++i) fifty_wide += "é";
  auto at_limit = post_json(client, R"({"essays": [")" + fifty_wide + R"("]})");
  ASSERT_TRUE(at_limit);
  EXPECT_EQ(at_limit->status, 200) << at_limit->body;
}

TEST(Server, PredictorFailureGives500AndTheWorkerCarriesOn) {
  RunningServer server;
  auto client = server.client();
  expect_error(post_json(client, R"({"essays": ["fail"]})"), 500, "fake predictor failure");
  auto after = post_json(client, R"({"essays": ["still alive"]})");
  ASSERT_TRUE(after);
  ASSERT_EQ(after->status, 200);
  expect_answer(json::parse(after->body)["predictions"][0], "still alive");
  EXPECT_EQ(server.server().metrics().predictor_errors(), 1u);
}

TEST(Server, ConcurrentClientsGetTheirOwnAnswersInMergedBatches) {
  serve::ServerOptions options;
  options.batching.max_batch = 16;
  options.batching.max_wait = std::chrono::milliseconds(20);
  auto predictor = std::make_shared<FakePredictor>();
  predictor->set_delay(std::chrono::milliseconds(5));
  RunningServer server(options, predictor);
  constexpr int kClients = 24;
  constexpr int kRequestsEach = 6;
  std::vector<std::future<std::vector<std::string>>> failures;
  for (int c = 0; c < kClients; ++c) {
    failures.push_back(std::async(std::launch::async, [&server, c] {
      auto client = server.client();
      std::vector<std::string> failed;
      for (int r = 0; r < kRequestsEach; ++r) {
        const std::string first = "client " + std::to_string(c) + " request " + std::to_string(r);
        const std::string second = std::string(static_cast<std::size_t>(c + r), 'z') + " tail";
        const json body = {{"essays", {{{"id", c * 100 + r}, {"text", first}}, second}}};
        auto result = post_json(client, body.dump());
        if (!result) {
          // Debian's httplib listens with a backlog of 5, so a burst of 24 connections can
          // lose one before it is served; a client retries such a connection failure once
          // (the request never reached the server: no response was counted for it).
          result = post_json(client, body.dump());
        }
        if (!result) {
          failed.push_back(first + ": " + httplib::to_string(result.error()));
          continue;
        }
        if (result->status != 200) {
          failed.push_back(first + ": " + std::to_string(result->status) + " " + result->body);
          continue;
        }
        const auto answers = json::parse(result->body)["predictions"];
        const auto want_first = FakePredictor::expected(first, 16);
        const auto want_second = FakePredictor::expected(second, 16);
        if (answers.size() != 2 || answers[0]["id"] != c * 100 + r ||
            answers[0]["empathy"].get<double>() != *want_first.empathy ||
            answers[0]["distress"].get<double>() != *want_first.distress ||
            answers[1]["empathy"].get<double>() != *want_second.empathy ||
            answers[1]["distress"].get<double>() != *want_second.distress) {
          failed.push_back(first + ": wrong answer " + result->body);
        }
      }
      return failed;
    }));
  }
  std::vector<std::string> failed;
  for (auto& f : failures) {
    for (auto& message : f.get()) failed.push_back(std::move(message));
  }
  EXPECT_TRUE(failed.empty()) << failed.size() << " failed, first: " << failed.front();
  auto& metrics = server.server().metrics();
  // httplib calls the logger that counts a response after writing it, so a client can hold its
  // answer a moment before the count moves: wait for it (a few ms; the deadline only bounds a
  // real miscount).
  const auto want = static_cast<std::uint64_t>(kClients * kRequestsEach);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (metrics.responses(200) < want && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(metrics.responses(200), want);
  // Requests of two essays each: a batch of more than two essays merged requests.
  EXPECT_GT(metrics.batches_larger_than(2), 0u);
  EXPECT_LT(metrics.batches(), static_cast<std::uint64_t>(kClients * kRequestsEach));

  auto client = server.client();
  auto text = client.Get("/metrics");
  ASSERT_TRUE(text);
  EXPECT_EQ(text->status, 200);
  EXPECT_NE(text->body.find("emotune_http_requests_total{status=\"200\"} " +
                            std::to_string(kClients * kRequestsEach)),
            std::string::npos)
      << text->body;
  EXPECT_NE(text->body.find("emotune_batch_size_essays_bucket{le=\"+Inf\"}"), std::string::npos);
  EXPECT_NE(text->body.find("emotune_request_duration_seconds_count"), std::string::npos);
  EXPECT_NE(text->body.find("emotune_queue_depth 0"), std::string::npos);
}

// Polls /metrics until the queue holds `essays` essays (at most ~10 s).
bool wait_for_queue_depth(RunningServer& server, std::size_t essays) {
  auto client = server.client();
  const std::string line = "emotune_queue_depth " + std::to_string(essays) + "\n";
  for (int attempt = 0; attempt < 1000; ++attempt) {
    auto result = client.Get("/metrics");
    if (result && result->body.find(line) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(Server, FullQueueAnswers503WithRetryAfter) {
  serve::ServerOptions options;
  options.max_essays = 2;
  options.batching.max_batch = 1;
  options.batching.max_wait = std::chrono::milliseconds(0);
  options.batching.max_queue = 2;
  RunningServer server(options);
  server.predictor().close_gate();
  auto send = [&server](const std::string& text) {
    return std::async(std::launch::async, [&server, text] {
      auto client = server.client();
      auto result = post_json(client, json{{"essays", {text}}}.dump());
      return result ? result->status : -1;
    });
  };
  auto in_model = send("first");
  ASSERT_TRUE(server.predictor().wait_for_calls(1));
  auto queued_a = send("second");
  auto queued_b = send("third");
  ASSERT_TRUE(wait_for_queue_depth(server, 2));
  auto client = server.client();
  auto refused = post_json(client, R"({"essays": ["one too many"]})");
  expect_error(refused, 503, "queue is full");
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
  server.predictor().open_gate();
  EXPECT_EQ(in_model.get(), 200);
  EXPECT_EQ(queued_a.get(), 200);
  EXPECT_EQ(queued_b.get(), 200);
  auto later = post_json(client, R"({"essays": ["room again"]})");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 200);
}

TEST(Server, StopFinishesRequestsInFlight) {
  RunningServer server;
  server.predictor().close_gate();
  auto in_flight = std::async(std::launch::async, [&server] {
    auto client = server.client();
    auto result = post_json(client, R"({"essays": ["finish me"]})");
    return result ? std::make_pair(result->status, result->body)
                  : std::make_pair(-1, std::string());
  });
  ASSERT_TRUE(server.predictor().wait_for_calls(1));
  auto stopping = std::async(std::launch::async, [&server] { server.stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // Stopped accepting: a new connection is refused (or closed unanswered).
  {
    httplib::Client late("127.0.0.1", server.port());
    late.set_connection_timeout(1, 0);
    late.set_read_timeout(1, 0);
    auto refused = late.Get("/healthz");
    EXPECT_FALSE(refused && refused->status == 200);
  }
  server.predictor().open_gate();
  const auto [status, body] = in_flight.get();
  EXPECT_EQ(status, 200) << body;
  if (status == 200) expect_answer(json::parse(body)["predictions"][0], "finish me");
  EXPECT_EQ(stopping.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST(MicroBatcher, MergesQueuedRequestsAndKeepsOrder) {
  FakePredictor predictor;
  serve::Metrics metrics;
  serve::MicroBatcherOptions options;
  options.max_batch = 8;
  options.max_wait = std::chrono::milliseconds(200);
  serve::MicroBatcher batcher(predictor, options, &metrics);
  std::vector<std::future<std::vector<predict::EssayPrediction>>> futures;
  for (int i = 0; i < 4; ++i) {
    futures.push_back(batcher.submit({{std::string(static_cast<std::size_t>(i + 1), 'a')},
                                      {std::string(static_cast<std::size_t>(10 + i), 'b')}}));
  }
  for (int i = 0; i < 4; ++i) {
    const auto answers = futures[static_cast<std::size_t>(i)].get();
    ASSERT_EQ(answers.size(), 2u);
    EXPECT_EQ(*answers[0].empathy, i + 1);
    EXPECT_EQ(*answers[1].empathy, 10 + i);
  }
  // Eight essays queued within the wait: one batch.
  EXPECT_EQ(metrics.batches(), 1u);
  batcher.shutdown();
  EXPECT_THROW(batcher.submit({{"late"}}), serve::QueueFull);
}

TEST(MicroBatcher, ARequestLargerThanMaxBatchRunsAlone) {
  FakePredictor predictor;
  serve::Metrics metrics;
  serve::MicroBatcherOptions options;
  options.max_batch = 2;
  options.max_wait = std::chrono::milliseconds(0);
  serve::MicroBatcher batcher(predictor, options, &metrics);
  auto answers = batcher.submit({{"a"}, {"bb"}, {"ccc"}, {"dddd"}, {"eeeee"}}).get();
  ASSERT_EQ(answers.size(), 5u);
  for (std::size_t i = 0; i < answers.size(); ++i) EXPECT_EQ(*answers[i].empathy, i + 1.0);
  EXPECT_EQ(metrics.batches_larger_than(4), 1u);
}

}  // namespace
}  // namespace emotune
