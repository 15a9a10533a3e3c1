#include <catch2/catch.hpp>

#include <cerrno>
#include <string>

#include "core/proxy/ConnectFailure.hpp"

using namespace switchyard;

TEST_CASE("connect failures are counted under a reason that says what happened") {
    CHECK(connect_failure_reason(ECONNREFUSED, false) == ConnectFailureReason::refused);
    // A unix endpoint whose socket file is missing is not "refused": nobody is there at all.
    CHECK(connect_failure_reason(ENOENT, false) == ConnectFailureReason::not_found);
    CHECK(connect_failure_reason(ENOTDIR, false) == ConnectFailureReason::not_found);
    CHECK(connect_failure_reason(EACCES, false) == ConnectFailureReason::permission_denied);
    CHECK(connect_failure_reason(EPERM, false) == ConnectFailureReason::permission_denied);
    CHECK(connect_failure_reason(ETIMEDOUT, false) == ConnectFailureReason::timeout);
    CHECK(connect_failure_reason(0, true) == ConnectFailureReason::timeout);
    CHECK(connect_failure_reason(EHOSTUNREACH, false) == ConnectFailureReason::unreachable);
    CHECK(connect_failure_reason(ENETUNREACH, false) == ConnectFailureReason::unreachable);
    CHECK(connect_failure_reason(EAGAIN, false) == ConnectFailureReason::other);
}

TEST_CASE("every connect failure reason has its own label value") {
    CHECK(std::string(to_string(ConnectFailureReason::not_found)) == "not_found");
    CHECK(std::string(to_string(ConnectFailureReason::permission_denied)) == "permission_denied");
    CHECK(std::string(to_string(ConnectFailureReason::other)) == "other");
}
