#pragma once
/// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), for keyed pseudonyms of identifiers.
/// Small and dependency-free; tested against Python's hashlib/hmac.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace mura {

std::array<std::uint8_t, 32> sha256(std::string_view data);
std::array<std::uint8_t, 32> hmac_sha256(std::string_view key, std::string_view message);
/// Lower-case hex of the bytes.
std::string to_hex(const std::uint8_t* bytes, std::size_t n);

}  // namespace mura
