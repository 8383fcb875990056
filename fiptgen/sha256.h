// Internal to the library: SHA-256 (FIPS 180-4), for the names of chains and sets that are
// too long (names.h's UniquelyShorten hashes them as Felix does). Not for security: the
// hash only has to be the standard one, so that names match Felix's.
//
//   std::array<uint8_t, 32> digest = Sha256("16 k8s_ns.payments-0003");
//
// Written here rather than taken from OpenSSL: the library's few dozen hashes of short
// names cost ~10,000 instructions each through OpenSSL 3's EVP layer (an algorithm fetch
// per call) against ~2,000 here, and the tools link statically without libcrypto.
#ifndef FIPTGEN_SHA256_H_
#define FIPTGEN_SHA256_H_

#include <array>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace fiptgen {

std::array<uint8_t, 32> Sha256(absl::string_view data);

}  // namespace fiptgen

#endif  // FIPTGEN_SHA256_H_
