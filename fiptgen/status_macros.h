// Status plumbing. Debian's abseil (20220623) ships no status_macros.h, so we keep these two.
//
//   FIPTGEN_RETURN_IF_ERROR(DoThing());
//   FIPTGEN_ASSIGN_OR_RETURN(Model model, LoadModel(json));
#ifndef FIPTGEN_STATUS_MACROS_H_
#define FIPTGEN_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FIPTGEN_RETURN_IF_ERROR(expr)        \
  do {                                       \
    ::absl::Status fiptgen_status_ = (expr); \
    if (!fiptgen_status_.ok()) {             \
      return fiptgen_status_;                \
    }                                        \
  } while (0)

#define FIPTGEN_CONCAT_INNER_(a, b) a##b
#define FIPTGEN_CONCAT_(a, b) FIPTGEN_CONCAT_INNER_(a, b)

#define FIPTGEN_ASSIGN_OR_RETURN(lhs, expr) \
  FIPTGEN_ASSIGN_OR_RETURN_IMPL_(FIPTGEN_CONCAT_(fiptgen_statusor_, __LINE__), lhs, expr)

#define FIPTGEN_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) {                                     \
    return std::move(statusor).status();                    \
  }                                                         \
  lhs = std::move(statusor).value()

#endif  // FIPTGEN_STATUS_MACROS_H_
